;; Attack: fd_write to fd 99, which nobody opened, and fd_write to fd 3.
;; Must: both fail with an errno; the guest logs "fd_write returned".
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "proctag_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 4)
  (data (i32.const 2048) "hello")
  (data (i32.const 3000) "fd_write returned")
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i32.store (i32.const 1024) (i32.const 2048))
    (i32.store (i32.const 1028) (i32.const 5))
    (drop (call $write (i32.const 99) (i32.const 1024) (i32.const 1) (i32.const 1040)))
    (drop (call $write (i32.const 3) (i32.const 1024) (i32.const 1) (i32.const 1040)))
    (call $log (i32.const 3) (i32.const 3000) (i32.const 17))
    (i64.const 0)))
