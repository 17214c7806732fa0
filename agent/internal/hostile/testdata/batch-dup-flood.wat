;; Attack: a BatchResult as large as the host accepts for the batch (64 KiB
;; per record, counted in the input) made of entries that are all for index
;; 0 (ABI.md section 7: a later entry replaces an earlier one), each with 64
;; empty set_tag ops: up to 1920000 tags to decode, each result thrown
;; away by the next.
;; Must: rejected (the last result sets empty keys: grant, or bad_output)
;; within the RSS bound; no tag.
(module
  (memory (export "memory") 71)
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
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  ;; One entry {index 0, 64 x set_tag {}} (137 bytes) at 1024.
  (data (i32.const 1024) "\01\86\01\01\01\00\02\80\01\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00\02\00")
  ;; Init copies the entry 30000 times from 524288.
  (func (export "proctag_init") (param i32 i32) (result i32)
    (local $p i32)
    (local.set $p (i32.const 524288))
    (loop $fill
      (memory.copy (local.get $p) (i32.const 1024) (i32.const 137))
      (local.set $p (i32.add (local.get $p) (i32.const 137)))
      (br_if $fill (i32.lt_u (local.get $p) (i32.const 4634288))))
    (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.const 0))
  ;; Output: as many entries as fit in records*64 KiB - 16, at most 30000.
  (func (export "proctag_process_batch") (param $in i32) (param $len i32) (result i64)
    (local $k i32)
    (local.set $k (i32.div_u
      (i32.sub (i32.shl (call $records (local.get $in) (local.get $len)) (i32.const 16)) (i32.const 16))
      (i32.const 137)))
    (if (i32.gt_u (local.get $k) (i32.const 30000))
      (then (local.set $k (i32.const 30000))))
    (i64.or (i64.shl (i64.const 524288) (i64.const 32))
      (i64.extend_i32_u (i32.mul (local.get $k) (i32.const 137))))))
