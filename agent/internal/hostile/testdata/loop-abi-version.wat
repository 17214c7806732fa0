;; Attack: proctag_abi_version, the first export the host calls, spins
;; forever.
;; Must: the start is stopped (init or timeout); the plugin is not loaded.
(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32)
    (loop $spin (br $spin))
    (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.const 0)))
