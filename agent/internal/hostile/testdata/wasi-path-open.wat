;; Attack: path_open of /etc/shadow (relative to fd 3, the first preopen in
;; WASI) and, should that work, a tag evil.opened=1.
;; Must: there is no preopen, path_open fails, the guest logs
;; "path_open refused"; no evil tag.
(module
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "proctag_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 4)
  (data (i32.const 2048) "etc/shadow")
  (data (i32.const 3000) "path_open refused")
  ;; Result {set_tag evil.opened=1}.
  (data (i32.const 1024) "\02\10\01\0bevil.opened\02\011")
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (if (i32.eqz (call $open (i32.const 3) (i32.const 0) (i32.const 2048) (i32.const 10)
                  (i32.const 0) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 2100)))
      (then (return (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 18)))))
    (call $log (i32.const 3) (i32.const 3000) (i32.const 17))
    (i64.const 0)))
