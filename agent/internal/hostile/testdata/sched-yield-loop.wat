;; Attack: sched_yield in an endless loop: each iteration leaves the guest
;; for a host function.
;; Must: stopped at the timeout (timeout).
(module
  (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (loop $l
      (drop (call $yield))
      (br $l))
    (i64.const 0)))
