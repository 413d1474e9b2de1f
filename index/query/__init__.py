"""index/query — the query DSL, planning, scoring, top-k and fetch (contracts §5).

Data flows through the modules in this order:

    parser.py / query_string.py   DSL JSON → frozen query nodes (nodes.py), at the coordinator
    request.py                    a whole search body + URI params → SearchRequest (to_wire/from_wire)
    planner.py                    nodes → executable plans for one shard snapshot (mapping, analysis,
                                  date math, expansions, shard-wide BM25 statistics)
    execution.py                  plans → per-segment bitmaps (filters) and numpy scores (BM25)
    collector.py                  per-segment top-k, sort values, search_after
    merge.py                      THE merge: segments within a shard and shards in the cluster alike
    fetch.py                      hits → OpenSearch hit objects (_source filtering, highlight, explain)
    search.py                     search_shard / count_shard: the per-shard query phase

It must never import node/, raft/, udf/ or any async/HTTP library, and reads segments only through
the SegmentReader protocol (contracts §3).
"""
