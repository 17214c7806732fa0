;; Attack: a tag value with a newline, an escape and a NUL (log and
;; terminal injection downstream).
;; Must: the result is rejected (grant); no evil tag.
(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  ;; Result: set_tag evil.x="a\nb\x1b[31m\x00" (21 bytes).
  (data (i32.const 1024) "\02\13\01\06evil.x\02\09a\0ab\1b[31m\00")
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 21))))
