;; Attack: one memory.grow of 65535 pages, to the whole 4 GiB address
;; space, then a write at its last word; a trap when the grow fails.
;; Must: the grow fails against the 8 MiB cap (memory), nothing of 4 GiB is
;; ever allocated; no evil tag.
(module
  (memory (export "memory") 1)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  ;; The input buffer is in page 0, after the result.
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (if (i32.eq (memory.grow (i32.const 65535)) (i32.const -1))
      (then unreachable))
    (i32.store (i32.const 0xfffffffc) (i32.const 1))
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 13)))
  ;; Result {set_tag evil.x=1}: 02 0b | 01 06 "evil.x" | 02 01 "1".
  (data (i32.const 1024) "\02\0b\01\06evil.x\02\011"))
