;; Attack: proctag_v1.log in an endless loop, alternating two messages so
;; no repeat counter folds them.
;; Must: the log is rate-limited, the call stopped at the timeout.
(module
  (import "proctag_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 4)
  (data (i32.const 3000) "flood one flood two")
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (loop $flood
      (call $log (i32.const 1) (i32.const 3000) (i32.const 9))
      (call $log (i32.const 1) (i32.const 3010) (i32.const 9))
      (br $flood))
    (i64.const 0)))
