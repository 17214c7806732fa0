;; rename-tag: every process it is called for is renamed wat-renamed and
;; tagged wat/team=core. Loaded twice by wat_golden_test.go: once granted
;; rename and tag (its results apply), once granted tag only (every result
;; is refused whole, a grant fault, and the process stays as it was).
(module
  (memory (export "memory") 2)

  ;; The encoded Result at 64, 31 bytes (abi/ABI.md sections 4 and 6):
  ;;   01 0b wat-renamed        field 1 (rename), 11 bytes
  ;;   02 10                    field 2 (set_tag), 16 bytes:
  ;;     01 08 wat/team         tag key
  ;;     02 04 core             tag value
  (data (i32.const 64) "\01\0bwat-renamed\02\10\01\08wat/team\02\04core")

  (func (export "proctag_abi_version") (result i32)
    (i32.const 0x00010000))

  ;; proctag_alloc(size): the buffer at 65536, grown to fit size bytes.
  (func (export "proctag_alloc") (param $size i32) (result i32)
    (local $pages i32)
    (if (i32.lt_s (local.get $size) (i32.const 0))
      (then (return (i32.const 0))))
    (local.set $pages
      (i32.add (i32.const 1)
        (i32.shr_u (i32.add (local.get $size) (i32.const 65535)) (i32.const 16))))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
          (then (return (i32.const 0))))))
    (i32.const 65536))

  (func (export "proctag_init") (param $ptr i32) (param $len i32) (result i32)
    (i32.const 0))

  ;; (64 << 32) | 31: the same Result for every record.
  (func (export "proctag_process") (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.const 64) (i64.const 32)) (i64.const 31)))
)
