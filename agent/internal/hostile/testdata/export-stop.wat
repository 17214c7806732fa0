;; Attack: the module exports __proctag_stop itself (reserved by ABI.md
;; section 3), an immutable global the host would try to use as its stop
;; flag, and spins in proctag_process.
;; Must: refused at load, naming the reserved export.
(module
  (memory (export "memory") 4)
  (global (export "__proctag_stop") i32 (i32.const 0))
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (loop $spin (br $spin))
    (i64.const 0)))
