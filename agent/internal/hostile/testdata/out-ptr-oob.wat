;; Attack: proctag_process returns an output at 0x7fff0000, far outside
;; its 256 KiB memory.
;; Must: bad output (bad_output), instance discarded.
(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 2147418112) (i64.const 32)) (i64.const 16))))
