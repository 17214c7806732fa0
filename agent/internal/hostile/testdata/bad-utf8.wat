;; Attack: a tag value that is not UTF-8.
;; Must: the result is rejected (grant); no evil tag.
(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  ;; Result: set_tag evil.x=ff fe c0 (15 bytes).
  (data (i32.const 1024) "\02\0d\01\06evil.x\02\03\ff\fe\c0")
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 15))))
