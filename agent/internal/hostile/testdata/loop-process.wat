;; Attack: proctag_process spins in an empty loop forever.
;; Must: the call is stopped at the 100ms timeout (fault kind timeout), the
;; instance is discarded and the tick goes on with the good plugin's tags.
(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (loop $spin (br $spin))
    (i64.const 0)))
