;; Range filter for the Quidditch UDF ABI, version 1 (docs/udf.md).
;;
;; inputs:  fields [value]  (any numeric or date field)
;;          params [lo, hi]
;; output:  keep = value is present and lo <= value <= hi
;; status:  0 ok; 1 wrong field count; 2 wrong param count.
(module
  (memory (export "memory") 1)

  (func (export "quidditch_abi_version") (result i32)
    (i32.const 1))

  ;; The batch region always starts at 64 KiB (page 1); grow memory until it fits.
  (func (export "quidditch_reserve") (param $byte_count i32) (result i32)
    (local $pages_needed i32)
    (local.set $pages_needed
      (i32.add (i32.const 1)
        (i32.shr_u (i32.add (local.get $byte_count) (i32.const 65535)) (i32.const 16))))
    (if (i32.gt_u (local.get $pages_needed) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $pages_needed) (memory.size))) (i32.const -1))
          (then (return (i32.const 0))))))
    (i32.const 65536))

  (func (export "filter_batch") (param $region i32) (param $document_count i32) (result i32)
    (local $values i32) (local $present i32) (local $output i32)
    (local $lo f64) (local $hi f64) (local $value f64) (local $index i32) (local $params i32)
    (if (i32.ne (i32.load offset=8 (local.get $region)) (i32.const 1)) (then (return (i32.const 1))))
    (if (i32.ne (i32.load offset=12 (local.get $region)) (i32.const 2)) (then (return (i32.const 2))))
    (local.set $params  (i32.add (local.get $region) (i32.load offset=16 (local.get $region))))
    (local.set $values  (i32.add (local.get $region) (i32.load offset=24 (local.get $region))))
    (local.set $present (i32.add (local.get $region) (i32.load offset=28 (local.get $region))))
    (local.set $output  (i32.add (local.get $region) (i32.load offset=32 (local.get $region))))
    (local.set $lo (f64.load (local.get $params)))
    (local.set $hi (f64.load offset=8 (local.get $params)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $index) (local.get $document_count)))
        (local.set $value
          (f64.load (i32.add (local.get $values) (i32.shl (local.get $index) (i32.const 3)))))
        (i32.store8 (i32.add (local.get $output) (local.get $index))
          (i32.and
            (i32.load8_u (i32.add (local.get $present) (local.get $index)))
            (i32.and (f64.ge (local.get $value) (local.get $lo))
                     (f64.le (local.get $value) (local.get $hi)))))
        (local.set $index (i32.add (local.get $index) (i32.const 1)))
        (br $next)))
    (i32.const 0)))
