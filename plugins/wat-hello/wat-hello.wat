;; wat-hello: a proctag plugin written by hand in WebAssembly text, without
;; the Go SDK or WASI, to show that the ABI (abi/ABI.md) is language
;; neutral. It logs a greeting at init and gives every process the tag
;; wat/hello=world. Build: wat2wasm wat-hello.wat -o wat-hello.wasm
(module
  ;; proctag_v1.log(level, ptr, len): the only host function of ABI v1.0.
  (import "proctag_v1" "log" (func $log (param i32 i32 i32)))

  ;; Page 0 holds constants; the input buffer starts at page 1 and the
  ;; memory grows when the host asks for a bigger one.
  (memory (export "memory") 2)

  ;; The init greeting, 19 bytes at 16.
  (data (i32.const 16) "wat-hello is ready.")

  ;; The encoded Result at 64, 20 bytes (abi/ABI.md sections 4 and 6):
  ;;   02 12                field 2 (set_tag), 18 bytes
  ;;   01 09 wat/hello      tag field 1 (key), 9 bytes
  ;;   02 05 world          tag field 2 (value), 5 bytes
  (data (i32.const 64) "\02\12\01\09wat/hello\02\05world")

  ;; ABI v1.0 = 1<<16 | 0.
  (func (export "proctag_abi_version") (result i32)
    (i32.const 0x00010000))

  ;; proctag_alloc(size): the input buffer at 65536, big enough for size
  ;; bytes; 0 when size is negative or memory cannot grow.
  (func (export "proctag_alloc") (param $size i32) (result i32)
    (local $pages i32)
    (if (i32.lt_s (local.get $size) (i32.const 0))
      (then (return (i32.const 0))))
    ;; pages = 1 + ceil(size / 65536)
    (local.set $pages
      (i32.add (i32.const 1)
        (i32.shr_u (i32.add (local.get $size) (i32.const 65535)) (i32.const 16))))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
          (then (return (i32.const 0))))))
    (i32.const 65536))

  ;; proctag_init(ptr, len): no config needed; say hello at info level.
  (func (export "proctag_init") (param $ptr i32) (param $len i32) (result i32)
    (call $log (i32.const 3) (i32.const 16) (i32.const 19))
    (i32.const 0))

  ;; proctag_process(ptr, len): the same Result for every record:
  ;; (64 << 32) | 20. There is no proctag_process_batch: the host falls
  ;; back to one call per record.
  (func (export "proctag_process") (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.const 64) (i64.const 32)) (i64.const 20)))
)
