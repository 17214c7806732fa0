;; Attack: from plugin-dir (so after the good plugin), remove acme.io/team,
;; the good plugin's tag.
;; Must: the result is rejected (grant); acme.io/team stays.
(module
  (memory (export "memory") 4)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  ;; Result: remove_tag acme.io/team (14 bytes).
  (data (i32.const 1024) "\03\0cacme.io/team")
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 14))))
