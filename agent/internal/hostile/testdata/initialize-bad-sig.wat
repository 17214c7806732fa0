;; Attack: _initialize exported with a signature a reactor's never has,
;; three i64 parameters and three i64 results, for a host that calls it
;; with a stack sized for none.
;; Must: refused at load (load) or a clean start fault, never a host panic.
(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "_initialize") (param i64 i64 i64) (result i64 i64 i64)
    (local.get 0) (local.get 1) (local.get 2))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 13)))
  ;; Result {set_tag evil.x=1}: 02 0b | 01 06 "evil.x" | 02 01 "1".
  (data (i32.const 1024) "\02\0b\01\06evil.x\02\011"))
