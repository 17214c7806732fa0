;; Attack: rename the process without the rename capability (and set evil.x).
;; Must: the whole result is rejected (grant); the name stays the rule's.
(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  ;; Result: rename evil-name, set_tag evil.x=1 (24 bytes).
  (data (i32.const 1024) "\01\09evil-name\02\0b\01\06evil.x\02\011")
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 24))))
