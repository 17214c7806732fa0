;; Attack: a BatchResult as large as the host accepts for the batch (64 KiB
;; per record, counted in the input, at most 4 MiB) whose one entry, for
;; index 0, is nothing but empty set_tag ops (02 00): up to two million
;; tags for the decoder, unless it stops at the 64-tag limit.
;; Must: rejected (bad_output or grant) early, within the RSS bound; no tag.
(module
  (memory (export "memory") 72)
  ;; $uv reads the uvarint at $at and moves $at past it (32 bits suffice).
  (global $at (mut i32) (i32.const 0))
  (func $uv (result i32)
    (local $v i32) (local $shift i32) (local $b i32)
    (loop $more
      (local.set $b (i32.load8_u (global.get $at)))
      (global.set $at (i32.add (global.get $at) (i32.const 1)))
      (local.set $v (i32.or (local.get $v)
        (i32.shl (i32.and (local.get $b) (i32.const 0x7f)) (local.get $shift))))
      (local.set $shift (i32.add (local.get $shift) (i32.const 7)))
      (br_if $more (i32.and (local.get $b) (i32.const 0x80))))
    (local.get $v))
  ;; $records counts the top-level fields of a Batch: its records. The host
  ;; accepts up to 64 KiB of output per record of the batch.
  (func $records (param $p i32) (param $n i32) (result i32)
    (local $end i32) (local $count i32)
    (global.set $at (local.get $p))
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (block $done
      (loop $field
        (br_if $done (i32.ge_u (global.get $at) (local.get $end)))
        (drop (call $uv))
        (global.set $at (i32.add (call $uv) (global.get $at)))
        (local.set $count (i32.add (local.get $count) (i32.const 1)))
        (br $field)))
    (local.get $count))
  ;; $put_uv writes v as a uvarint at p and returns the end.
  (func $put_uv (param $p i32) (param $v i32) (result i32)
    (loop $more
      (if (i32.ge_u (local.get $v) (i32.const 0x80))
        (then
          (i32.store8 (local.get $p) (i32.or (i32.and (local.get $v) (i32.const 0x7f)) (i32.const 0x80)))
          (local.set $v (i32.shr_u (local.get $v) (i32.const 7)))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br $more))))
    (i32.store8 (local.get $p) (local.get $v))
    (i32.add (local.get $p) (i32.const 1)))
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  ;; The ops fill [524304, 4718592), written once by init.
  (func (export "proctag_init") (param i32 i32) (result i32)
    (local $p i32)
    (local.set $p (i32.const 524304))
    (loop $fill
      (i32.store16 (local.get $p) (i32.const 0x0002))
      (local.set $p (i32.add (local.get $p) (i32.const 2)))
      (br_if $fill (i32.lt_u (local.get $p) (i32.const 4718592))))
    (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.const 0))
  ;; Output: 01 uv(L1) | 01 01 00 | 02 uv(L2) | L2 bytes of ops, with
  ;; L2 = min(records*64 KiB - 32, 4194288), the header built at 2048 and
  ;; copied just before the ops.
  (func (export "proctag_process_batch") (param $in i32) (param $len i32) (result i64)
    (local $l2 i32) (local $uvlen i32) (local $end i32) (local $hlen i32) (local $start i32)
    (local.set $l2 (i32.and
      (i32.sub (i32.shl (call $records (local.get $in) (local.get $len)) (i32.const 16)) (i32.const 32))
      (i32.const -2)))
    (if (i32.gt_u (local.get $l2) (i32.const 4194288))
      (then (local.set $l2 (i32.const 4194288))))
    (local.set $uvlen (i32.sub (call $put_uv (i32.const 2100) (local.get $l2)) (i32.const 2100)))
    (i32.store8 (i32.const 2048) (i32.const 1))
    (local.set $end (call $put_uv (i32.const 2049)
      (i32.add (i32.add (i32.const 4) (local.get $uvlen)) (local.get $l2))))
    (i32.store8 (local.get $end) (i32.const 1))
    (i32.store8 (i32.add (local.get $end) (i32.const 1)) (i32.const 1))
    (i32.store8 (i32.add (local.get $end) (i32.const 2)) (i32.const 0))
    (i32.store8 (i32.add (local.get $end) (i32.const 3)) (i32.const 2))
    (local.set $end (call $put_uv (i32.add (local.get $end) (i32.const 4)) (local.get $l2)))
    (local.set $hlen (i32.sub (local.get $end) (i32.const 2048)))
    (local.set $start (i32.sub (i32.const 524304) (local.get $hlen)))
    (memory.copy (local.get $start) (i32.const 2048) (local.get $hlen))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $start)) (i64.const 32))
      (i64.extend_i32_u (i32.add (local.get $hlen) (local.get $l2))))))
