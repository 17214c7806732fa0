;; Attack: exponential recursion (2^48 calls) through call_indirect on a
;; table, so no direct call graph shows the recursion; no loop.
;; Must: stopped at the timeout (timeout); no evil tag.
(module
  (memory (export "memory") 4)
  (type $fanT (func (param i32)))
  (table 1 funcref)
  (elem (i32.const 0) $fan)
  (global $calls (mut i64) (i64.const 0))
  (func $fan (param $depth i32)
    (global.set $calls (i64.add (global.get $calls) (i64.const 1)))
    (if (local.get $depth)
      (then
        (call_indirect (type $fanT) (i32.sub (local.get $depth) (i32.const 1)) (i32.const 0))
        (call_indirect (type $fanT) (i32.sub (local.get $depth) (i32.const 1)) (i32.const 0)))))
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (call_indirect (type $fanT) (i32.const 48) (i32.const 0))
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 13)))
  ;; Result {set_tag evil.x=1}: 02 0b | 01 06 "evil.x" | 02 01 "1".
  (data (i32.const 1024) "\02\0b\01\06evil.x\02\011"))
