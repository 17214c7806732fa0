;; Attack: every call counts to 20,000,000 before answering "unchanged":
;; tens of milliseconds, under the 100ms timeout, for every process, so a
;; tick costs processes x that. Each call is legal.
;; Must: the scan ends with everything right; its wall time shows what a
;; per-call timeout alone lets a plugin cost a tick.
(module
  (import "proctag_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 4)
  (data (i32.const 3000) "counting")
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32)
    (call $log (i32.const 3) (i32.const 3000) (i32.const 8))
    (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (local $n i32)
    (local.set $n (i32.const 20000000))
    (loop $count
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $count (local.get $n)))
    (i64.const 0)))
