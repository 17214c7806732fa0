;; Attack: proctag_alloc spins forever (with no config, init never calls
;; it, so the plugin loads and every process call hangs in alloc).
;; Must: the alloc of the call is under the call's deadline (timeout).
(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32)
    (loop $spin (br $spin))
    (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 13)))
  ;; Result {set_tag evil.x=1}: 02 0b | 01 06 "evil.x" | 02 01 "1".
  (data (i32.const 1024) "\02\0b\01\06evil.x\02\011"))
