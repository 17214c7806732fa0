;; Attack: proctag_process grows its memory by 16 pages at a time, writing
;; to each new last page, in an endless loop: to the cap and beyond.
;; Must: every grow past the 8 MiB cap fails (memory), the call is stopped,
;; the instance discarded; RSS stays bound.
(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (loop $grow
      (drop (memory.grow (i32.const 16)))
      (i32.store (i32.sub (i32.shl (memory.size) (i32.const 16)) (i32.const 4)) (i32.const 1))
      (br $grow))
    (i64.const 0)))
