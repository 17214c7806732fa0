;; init-fails: a plugin whose init always fails and says why, as ABI.md
;; asks: it logs the reason at error level, then proctag_init returns 1.
;; `proctag check` must show the reason. Build: wat2wasm init-fails.wat
(module
  (import "proctag_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 2)

  ;; The reason, 39 bytes at 16.
  (data (i32.const 16) "config has no region: set config.region")

  (func (export "proctag_abi_version") (result i32)
    (i32.const 0x00010000))

  ;; proctag_alloc(size): the buffer at 65536 (page 1); big enough for the
  ;; small configs this module is given.
  (func (export "proctag_alloc") (param $size i32) (result i32)
    (if (i32.gt_u (local.get $size) (i32.const 65536))
      (then (return (i32.const 0))))
    (i32.const 65536))

  ;; proctag_init: log the reason at level 1 (error) and fail.
  (func (export "proctag_init") (param $ptr i32) (param $len i32) (result i32)
    (call $log (i32.const 1) (i32.const 16) (i32.const 39))
    (i32.const 1))

  ;; proctag_process: never reached; "unchanged".
  (func (export "proctag_process") (param $ptr i32) (param $len i32) (result i64)
    (i64.const 0))
)
