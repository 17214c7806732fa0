;; Attack: every call grows memory to just under the 8 MiB cap and touches
;; every page, so each instance is recycled for its memory and the next
;; starts from scratch, over many processes.
;; Must: legal, but RSS stays bound; init logs "recycler ready".
(module
  (import "proctag_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 4)
  (data (i32.const 3000) "recycler ready")
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32)
    (call $log (i32.const 3) (i32.const 3000) (i32.const 14))
    (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (local $p i32)
    (drop (memory.grow (i32.sub (i32.const 127) (memory.size))))
    (local.set $p (i32.const 262144))
    (loop $touch
      (i32.store (local.get $p) (local.get $p))
      (local.set $p (i32.add (local.get $p) (i32.const 4096)))
      (br_if $touch (i32.lt_u (local.get $p) (i32.shl (memory.size) (i32.const 16)))))
    (i64.const 0)))
