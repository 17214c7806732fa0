;; Attack: $ping calls $pong twice and $pong calls $ping twice, 48 levels:
;; 2^48 calls through two functions, no loop.
;; Must: stopped at the timeout (timeout); no evil tag.
(module
  (memory (export "memory") 4)
  (global $calls (mut i64) (i64.const 0))
  (func $ping (param $depth i32)
    (global.set $calls (i64.add (global.get $calls) (i64.const 1)))
    (if (local.get $depth)
      (then
        (call $pong (i32.sub (local.get $depth) (i32.const 1)))
        (call $pong (i32.sub (local.get $depth) (i32.const 1))))))
  (func $pong (param $depth i32)
    (global.set $calls (i64.add (global.get $calls) (i64.const 1)))
    (if (local.get $depth)
      (then
        (call $ping (i32.sub (local.get $depth) (i32.const 1)))
        (call $ping (i32.sub (local.get $depth) (i32.const 1))))))
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (call $ping (i32.const 48))
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 13)))
  ;; Result {set_tag evil.x=1}: 02 0b | 01 06 "evil.x" | 02 01 "1".
  (data (i32.const 1024) "\02\0b\01\06evil.x\02\011"))
