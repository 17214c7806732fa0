;; Attack: a plugin scoped to uid 12345 that tags every process it sees
;; with evil.scoped=1.
;; Must: it is never called for the victim (uid 0): no evil tag anywhere
;; (no process of uid 12345 runs).
(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  ;; Result: set_tag evil.scoped=1 (18 bytes).
  (data (i32.const 1024) "\02\10\01\0bevil.scoped\02\011")
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 18))))
