;; Attack: plugin-dir's outside-link.wasm is a symlink to this module in a
;; directory outside plugin-dir; it tags every process evil.symlink=1.
;; Must: a NAME.wasm that is not a regular file inside plugin-dir is
;; refused and logged; no evil tag.
(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  ;; Result: set_tag evil.symlink=1 (19 bytes).
  (data (i32.const 1024) "\02\11\01\0cevil.symlink\02\011")
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 19))))
