;; Attack: poll_oneoff with one fd_read subscription on fd 0 (stdin) and no
;; clock: it waits until stdin is readable, which the agent's never-written
;; stdin pipe never is.
;; Must: the poll returns at once (no real stdin) or is cut at the
;; deadline; the guest logs "poll_oneoff returned" when it does.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "proctag_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 4)
  ;; subscription at 2048: userdata 0, tag 1 (fd_read) at +8, fd 0 at +16.
  (data (i32.const 3000) "poll_oneoff returned")
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i32.store8 (i32.const 2056) (i32.const 1))
    (i32.store (i32.const 2064) (i32.const 0))
    (drop (call $poll (i32.const 2048) (i32.const 4096) (i32.const 1) (i32.const 8192)))
    (call $log (i32.const 3) (i32.const 3000) (i32.const 20))
    (i64.const 0)))
