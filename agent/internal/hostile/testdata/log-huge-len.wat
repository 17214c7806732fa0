;; Attack: proctag_v1.log with len 0xffffffff at ptr 0 (the host cuts a
;; message at 1024 bytes, but ABI.md section 2 makes a ptr/len outside
;; memory a fault), then a result setting evil.x.
;; Must: the call faults (bad_output), no evil tag.
(module
  (import "proctag_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (call $log (i32.const 3) (i32.const 0) (i32.const -1))
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 13)))
  ;; Result {set_tag evil.x=1}: 02 0b | 01 06 "evil.x" | 02 01 "1".
  (data (i32.const 1024) "\02\0b\01\06evil.x\02\011"))
