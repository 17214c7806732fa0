;; Attack: proctag_init spins forever.
;; Must: init is stopped (init), the plugin is not loaded, the scan ends.
(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32)
    (loop $spin (br $spin))
    (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.const 0)))
