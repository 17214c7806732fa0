;; Attack: proctag_alloc returns 0 (ABI.md section 3: a fault), and
;; proctag_process would set evil.x if the call went ahead.
;; Must: the call faults at the alloc (alloc), no evil tag.
(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  ;; The result sits at 65536, clear of the input the host writes at 0.
  (data (i32.const 65536) "\02\0b\01\06evil.x\02\011")
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 65536) (i64.const 32)) (i64.const 13))))
