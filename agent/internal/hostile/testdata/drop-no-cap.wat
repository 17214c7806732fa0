;; Attack: drop the process without the drop capability.
;; Must: the result is rejected (grant); the victim is still reported.
(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  ;; Result: drop 1 (3 bytes).
  (data (i32.const 1024) "\04\01\01")
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 3))))
