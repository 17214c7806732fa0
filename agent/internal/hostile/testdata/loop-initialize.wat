;; Attack: the WASI reactor start function _initialize spins forever.
;; Must: instantiation is stopped (init), the plugin is not loaded, the scan
;; ends and the good plugin works.
(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "_initialize")
    (loop $spin (br $spin)))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.const 0)))
