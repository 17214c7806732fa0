;; Attack: a harmless start section (which makes the loop rewriter refuse
;; the module) and a proctag_process that spins forever: the fallback stop,
;; the runtime's context checks, must take over.
;; Must: stopped at the timeout (timeout).
(module
  (memory (export "memory") 4)
  (global $started (mut i32) (i32.const 0))
  (func $start
    (global.set $started (i32.const 1)))
  (start $start)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (loop $spin (br $spin))
    (i64.const 0)))
