;; Attack: imports proctag_v1.exec, a function ABI v1.0 does not have.
;; Must: refused at load, naming the import (load).
(module
  (import "proctag_v1" "exec" (func $exec (param i32 i32) (result i32)))
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.const 0)))
