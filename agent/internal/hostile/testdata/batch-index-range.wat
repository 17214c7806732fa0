;; Attack: a BatchResult entry for index 100000, outside any batch, setting
;; evil.x.
;; Must: the batch output is rejected whole (bad_output); no evil tag.
(module
  (memory (export "memory") 8)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  ;; BatchResult: one entry {index 100000, set_tag evil.x=1} (22 bytes).
  (data (i32.const 1024) "\01\14\01\03\a0\8d\06\02\0d\02\0b\01\06evil.x\02\011")
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.const 0))
  (func (export "proctag_process_batch") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 22))))
