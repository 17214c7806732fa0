;; Attack: proctag_process returns -7, an undefined negative code.
;; Must: treated as -2 (bad_output), no result.
(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.const -7)))
