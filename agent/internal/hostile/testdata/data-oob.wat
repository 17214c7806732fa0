;; Attack: an active data segment at 0xfffffff0, outside the memory: it
;; traps during instantiation, at every instance start.
;; Must: the plugin is not loaded (init or load).
(module
  (memory (export "memory") 4)
  (data (i32.const 0xfffffff0) "0123456789abcdefghij")
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.const 0)))
