;; Attack: proctag_process_batch spins forever (proctag_process is fine).
;; Must: the batch call is stopped at the timeout (timeout), every record of
;; the batch keeps its previous result, the tick goes on.
(module
  (memory (export "memory") 8)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.const 0))
  (func (export "proctag_process_batch") (param i32 i32) (result i64)
    (loop $spin (br $spin))
    (i64.const 0)))
