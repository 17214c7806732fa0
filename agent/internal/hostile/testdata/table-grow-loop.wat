;; Attack: table.grow by 1,000,000 null slots in an endless loop.
;; Must: the table cannot grow past a limit (memory) and the call is
;; stopped; RSS stays bound.
(module
  (memory (export "memory") 4)
  (table $t 1 funcref)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (loop $grow
      (drop (table.grow $t (ref.null func) (i32.const 1000000)))
      (br $grow))
    (i64.const 0)))
