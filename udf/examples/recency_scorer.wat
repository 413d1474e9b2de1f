;; Recency-boosted scorer for the Quidditch UDF ABI, version 1 (docs/udf.md).
;;
;; inputs:  fields [published_at]  (a date field: epoch milliseconds as f64)
;;          params [now_millis, weight]
;; output:  new_score = score * (1 + weight / (1 + age_days))
;;          age_days  = max(0, (now_millis - published_at) / 86400000)
;;          a document without published_at keeps its score unchanged.
;; status:  0 ok; 1 wrong field count; 2 wrong param count.
(module
  (memory (export "memory") 1)

  (func (export "quidditch_abi_version") (result i32)
    (i32.const 1))

  ;; The batch region always starts at 64 KiB (page 1); grow memory until it fits.
  ;; Returns 0 when memory cannot grow (the host reports the memory limit).
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

  (func (export "score_batch") (param $region i32) (param $document_count i32) (result i32)
    (local $params i32) (local $scores i32) (local $values i32) (local $present i32)
    (local $output i32) (local $now f64) (local $weight f64) (local $age_days f64)
    (local $score f64) (local $index i32)
    (if (i32.ne (i32.load offset=8 (local.get $region)) (i32.const 1)) (then (return (i32.const 1))))
    (if (i32.ne (i32.load offset=12 (local.get $region)) (i32.const 2)) (then (return (i32.const 2))))
    (local.set $params  (i32.add (local.get $region) (i32.load offset=16 (local.get $region))))
    (local.set $scores  (i32.add (local.get $region) (i32.load offset=20 (local.get $region))))
    (local.set $values  (i32.add (local.get $region) (i32.load offset=24 (local.get $region))))
    (local.set $present (i32.add (local.get $region) (i32.load offset=28 (local.get $region))))
    (local.set $output  (i32.add (local.get $region) (i32.load offset=32 (local.get $region))))
    (local.set $now (f64.load (local.get $params)))
    (local.set $weight (f64.load offset=8 (local.get $params)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $index) (local.get $document_count)))
        (local.set $score
          (f64.load (i32.add (local.get $scores) (i32.shl (local.get $index) (i32.const 3)))))
        (if (i32.load8_u (i32.add (local.get $present) (local.get $index)))
          (then
            (local.set $age_days
              (f64.max (f64.const 0)
                (f64.div
                  (f64.sub (local.get $now)
                    (f64.load (i32.add (local.get $values) (i32.shl (local.get $index) (i32.const 3)))))
                  (f64.const 86400000))))
            (local.set $score
              (f64.mul (local.get $score)
                (f64.add (f64.const 1)
                  (f64.div (local.get $weight) (f64.add (f64.const 1) (local.get $age_days))))))))
        (f64.store (i32.add (local.get $output) (i32.shl (local.get $index) (i32.const 3)))
          (local.get $score))
        (local.set $index (i32.add (local.get $index) (i32.const 1)))
        (br $next)))
    (i32.const 0)))
