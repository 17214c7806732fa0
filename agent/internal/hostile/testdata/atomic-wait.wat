;; wat2wasm: --enable-all
;; Attack: a shared memory and memory.atomic.wait32 with no timeout on a
;; value nobody will ever notify: a guest that blocks inside the runtime.
;; Must: refused at load (threads are not in the ABI) or stopped at the
;; timeout; no evil tag.
(module
  (memory (export "memory") 4 4 shared)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 13)))
  ;; Result {set_tag evil.x=1}: 02 0b | 01 06 "evil.x" | 02 01 "1".
  (data (i32.const 1024) "\02\0b\01\06evil.x\02\011"))
