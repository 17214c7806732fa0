;; Attack: set acme.io/team=evil and acme.io/hijack=evil: keys under the
;; good plugin's prefix, not the attacker's evil.
;; Must: the whole result is rejected (grant); the victim keeps acme.io/team=good.
(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  ;; Result: set_tag acme.io/hijack=evil, set_tag acme.io/team=evil (46 bytes).
  (data (i32.const 1024) "\02\16\01\0eacme.io/hijack\02\04evil\02\14\01\0cacme.io/team\02\04evil")
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 46))))
