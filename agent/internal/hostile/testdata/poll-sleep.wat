;; Attack: poll_oneoff with one clock subscription of an hour: a sleep in a
;; host function, where no guest check can run.
;; Must: the call ends in time (the clock is fake, or the sleep is cut at
;; the deadline); the guest logs "poll_oneoff returned" when it does.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "proctag_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 4)
  ;; subscription at 2048 (48 bytes): userdata 0, tag 0 (clock), clock id
  ;; 1 (monotonic) at +16, timeout 3600e9 ns at +24, precision 0, flags 0
  ;; (relative). Event out at 4096, nevents at 8192.
  (data (i32.const 3000) "poll_oneoff returned")
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proctag_init") (param i32 i32) (result i32) (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (i32.store8 (i32.const 2056) (i32.const 0))
    (i32.store (i32.const 2064) (i32.const 1))
    (i64.store (i32.const 2072) (i64.const 3600000000000))
    (drop (call $poll (i32.const 2048) (i32.const 4096) (i32.const 1) (i32.const 8192)))
    (call $log (i32.const 3) (i32.const 3000) (i32.const 20))
    (i64.const 0)))
