;; Attack: fd_write to stdout of 192 KiB of 64-byte lines per call, in an
;; endless loop: megabytes of lines for the agent's log.
;; Must: the log is rate-limited (the agent's stderr stays small), the call
;; is stopped at the timeout; lines show as plugin output from stdout.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 8)
  (func (export "proctag_abi_version") (result i32) (i32.const 0x10000))
  (func (export "proctag_alloc") (param i32) (result i32) (i32.const 65536))
  ;; Lines of 63 'A' and a newline fill [262144, 458752); iovec at 1024.
  (func (export "proctag_init") (param i32 i32) (result i32)
    (local $p i32)
    (memory.fill (i32.const 262144) (i32.const 65) (i32.const 196608))
    (local.set $p (i32.const 262207))
    (loop $nl
      (i32.store8 (local.get $p) (i32.const 10))
      (local.set $p (i32.add (local.get $p) (i32.const 64)))
      (br_if $nl (i32.lt_u (local.get $p) (i32.const 458752))))
    (i32.store (i32.const 1024) (i32.const 262144))
    (i32.store (i32.const 1028) (i32.const 196608))
    (i32.const 0))
  (func (export "proctag_process") (param i32 i32) (result i64)
    (loop $flood
      (drop (call $write (i32.const 1) (i32.const 1024) (i32.const 1) (i32.const 2048)))
      (br $flood))
    (i64.const 0)))
