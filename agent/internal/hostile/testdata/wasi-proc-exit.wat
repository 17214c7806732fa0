;; Attack: proc_exit(0) in proctag_process: an exit with a success code in
;; the middle of a call (a Go plugin's os.Exit).
;; Must: a fault (trap/exit), the instance discarded, the agent itself goes
;; on and exits 0 with a full snapshot; no evil tag.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 4)
  ;; Result {set_tag evil.x=1}: 02 0b | 01 06 "evil.x" | 02 01 "1".
  (data (i32.const 1024) "\02\0b\01\06evil.x\02\011")
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (call $exit (i32.const 0))
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 13))))
