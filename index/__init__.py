"""One shard's search engine, as a synchronous library.

index/ owns everything that happens inside a single shard: mappings and analysis, the
write-ahead log, immutable segments on disk, the shard engine (operations, versioning,
sequence numbers, refresh/flush/merge), query parsing and execution, and aggregations.

It must never import trio, HTTP libraries, Raft, wasmtime, Prometheus or any sibling package
(raft/, udf/, node/). node/ drives it; an import-linter contract in the test run keeps it so.
"""
