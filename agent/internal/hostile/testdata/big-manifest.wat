;; Attack: a plugin-dir manifest that asks for memory-limit 4GiB and a
;; 10s timeout (allowed to an operator's plugin-dir) for a module that uses
;; 256 KiB and tags every process evil.big=1.
;; Must: it works (evil.big=1 on the victim) and the agent's RSS reflects
;; what the module uses, not what it may use.
(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  ;; Result: set_tag evil.big=1 (15 bytes).
  (data (i32.const 1024) "\02\0d\01\08evil.big\02\011")
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 15))))
