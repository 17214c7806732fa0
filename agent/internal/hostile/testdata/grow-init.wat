;; Attack: proctag_init grows memory by 65536 pages (past 4 GiB) and traps
;; when that fails.
;; Must: init fails with the memory fault (memory), the plugin is not loaded.
(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32)
    (if (i32.eq (memory.grow (i32.const 65536)) (i32.const -1))
      (then unreachable))
    (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 13)))
  ;; Result {set_tag evil.x=1}: 02 0b | 01 06 "evil.x" | 02 01 "1".
  (data (i32.const 1024) "\02\0b\01\06evil.x\02\011"))
