;; Attack: imports a table from wasi_snapshot_preview1 (only functions may
;; be imported).
;; Must: refused at load (load), not an instantiation error at every start.
(module
  (import "wasi_snapshot_preview1" "table" (table 1 funcref))
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.const 0)))
