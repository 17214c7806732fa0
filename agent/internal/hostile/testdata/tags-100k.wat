;; Attack: a BatchResult whose entry for record 0 sets 100,000 tags
;; evil.t=1 (1.3 MB): far over the 64 tags a result may set.
;; Must: rejected (grant or bad_output) without the decoder's allocations
;; breaking the RSS bound; no evil tag.
(module
  (memory (export "memory") 28)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  ;; Template tag at 1024: 02 0b 01 06 "evil.t" 02 01 "1" (13 bytes).
  (data (i32.const 1024) "\02\0b\01\06evil.t\02\011")
  ;; At 524288: BatchResult field 1, len 1300007 | index 0 | result field 2,
  ;; len 1300000 | the tags, copied by init.
  (data (i32.const 524288) "\01\a7\ac\4f\01\01\00\02\a0\ac\4f")
  (func (export "proctag_init") (param i32 i32) (result i32)
    (local $p i32)
    (local.set $p (i32.const 524299))
    (loop $fill
      (memory.copy (local.get $p) (i32.const 1024) (i32.const 13))
      (local.set $p (i32.add (local.get $p) (i32.const 13)))
      (br_if $fill (i32.lt_u (local.get $p) (i32.const 1824299))))
    (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.const 0))
  (func (export "proctag_process_batch") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 524288) (i64.const 32)) (i64.const 1300011))))
