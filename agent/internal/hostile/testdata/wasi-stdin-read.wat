;; Attack: fd_read on fd 0 (stdin). The agent's stdin in this suite is a
;; pipe nobody writes to or closes, as a terminal would be: a host that
;; wires the agent's stdin to the guest blocks in a host function.
;; Must: the read fails or sees EOF at once; the guest logs
;; "fd_read returned".
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "proctag_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 4)
  (data (i32.const 3000) "fd_read returned")
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i32.store (i32.const 1024) (i32.const 2048))
    (i32.store (i32.const 1028) (i32.const 16))
    (drop (call $read (i32.const 0) (i32.const 1024) (i32.const 1) (i32.const 1040)))
    (call $log (i32.const 3) (i32.const 3000) (i32.const 16))
    (i64.const 0)))
