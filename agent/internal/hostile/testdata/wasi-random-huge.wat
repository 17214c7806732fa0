;; Attack: random_get of 0x7fffffff bytes into a 256 KiB memory.
;; Must: the call fails (or faults) without the host producing 2 GiB of
;; random bytes; the guest logs "random_get returned".
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "proctag_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 4)
  (data (i32.const 3000) "random_get returned")
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (drop (call $random (i32.const 0) (i32.const 0x7fffffff)))
    (call $log (i32.const 3) (i32.const 3000) (i32.const 19))
    (i64.const 0)))
