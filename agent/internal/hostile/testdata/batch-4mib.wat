;; Attack: a BatchResult of 4 MiB (the most a batch of 64 records may
;; return) whose one entry holds 2,097,144 empty set_tag ops (02 00), built
;; once in init: millions of tags for the host to decode.
;; Must: refused as bad output or a grant violation (over 64 tags) without
;; the decoder's allocations breaking the RSS bound.
(module
  (memory (export "memory") 72)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  ;; At 524288: BatchResult field 1, len 4194296 | entry: index 0 (01 01 00),
  ;; result field 2, len 4194288 | then the ops, written by init.
  (data (i32.const 524288) "\01\f8\ff\ff\01\01\01\00\02\f0\ff\ff\01")
  (func (export "proctag_init") (param i32 i32) (result i32)
    (local $p i32)
    (local.set $p (i32.const 524301))
    (loop $fill
      (i32.store16 (local.get $p) (i32.const 0x0002))
      (local.set $p (i32.add (local.get $p) (i32.const 2)))
      (br_if $fill (i32.lt_u (local.get $p) (i32.const 4718589))))
    (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.const 0))
  (func (export "proctag_process_batch") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 524288) (i64.const 32)) (i64.const 4194301))))
