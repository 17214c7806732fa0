;; Attack: a BatchResult with two entries for index 0: the first sets
;; evil.x=1, the second (which replaces it, ABI.md section 7) sets evil.y to
;; bytes that are not UTF-8.
;; Must: the replacing result is rejected (grant or bad_output) and the
;; replaced one does not leak through: no evil tag.
(module
  (memory (export "memory") 8)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  ;; BatchResult: {index 0, set_tag evil.x=1}, {index 0, set_tag evil.y=ff} (40 bytes).
  (data (i32.const 1024) "\01\12\01\01\00\02\0d\02\0b\01\06evil.x\02\011\01\12\01\01\00\02\0d\02\0b\01\06evil.y\02\01\ff")
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.const 0))
  (func (export "proctag_process_batch") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 40))))
