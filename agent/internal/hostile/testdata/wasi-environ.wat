;; Attack: environ_sizes_get and environ_get: if the host gives the guest any
;; environment variables, tag the process evil.env=<the first, up to 100 bytes>.
;; Must: the guest sees none (the host passes no arguments or environment):
;; no evil tag; the guest logs "environ probe ran".
(module
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $get (param i32 i32) (result i32)))
  (import "proctag_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 4)
  (data (i32.const 3000) "environ probe ran")
  ;; The result is built at 8192: 02 LEN 01 08 "evil.env" 02 VLEN VALUE.
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (local $s i32) (local $n i32)
    (call $log (i32.const 3) (i32.const 3000) (i32.const 17))
    ;; count at 1024, buffer size at 1028; pointers at 2048, strings at 16384
    (if (call $sizes (i32.const 1024) (i32.const 1028))
      (then (return (i64.const 0))))
    (if (i32.eqz (i32.load (i32.const 1024)))
      (then (return (i64.const 0))))
    (if (i32.gt_u (i32.load (i32.const 1028)) (i32.const 32768))
      (then (return (i64.const 0))))
    (if (call $get (i32.const 2048) (i32.const 16384))
      (then (return (i64.const 0))))
    ;; n = strlen(first), at most 100
    (local.set $s (i32.load (i32.const 2048)))
    (block $done
      (loop $len
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $s) (local.get $n)))))
        (br_if $done (i32.eq (local.get $n) (i32.const 100)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $len)))
    (i32.store8 (i32.const 8192) (i32.const 2))
    (i32.store8 (i32.const 8193) (i32.add (local.get $n) (i32.const 12)))
    (i32.store8 (i32.const 8194) (i32.const 1))
    (i32.store8 (i32.const 8195) (i32.const 8))
    (memory.copy (i32.const 8196) (i32.const 4000) (i32.const 8))
    (i32.store8 (i32.const 8204) (i32.const 2))
    (i32.store8 (i32.const 8205) (local.get $n))
    (memory.copy (i32.const 8206) (local.get $s) (local.get $n))
    (i64.or (i64.shl (i64.const 8192) (i64.const 32))
      (i64.extend_i32_u (i32.add (local.get $n) (i32.const 14)))))
  (data (i32.const 4000) "evil.env"))
