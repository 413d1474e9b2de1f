;; A filter that grows its memory one page at a time until the host's limiter refuses
;; (memory.grow returns -1), then traps: the memory limit test runs it.
(module
  (memory (export "memory") 1)
  (func (export "quidditch_abi_version") (result i32)
    (i32.const 1))
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
    (block $refused
      (loop $grow
        (br_if $refused (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $grow)))
    unreachable))
