"""node/udf: WebAssembly user-defined functions wired into the node.

    store.py     <data>/udf-store: the cluster state's UDFs on disk, written by the front, read by workers
    host.py      the worker-side host: one udf/ runtime per process, per-query budgets, statistics
    queries.py   the wasm_udf and script_score (lang wasm) query nodes, registered into index/query
    front.py     the front's view: resolve names at the coordinator, keep the store in line with
                 the cluster state, poll worker statistics for metrics
The REST handlers are node/api/udf.py. docs/udf.md ("User-defined functions") is the tour.

This package must never be imported by index/, raft/ or udf/ (the layering contract), and only
udf/ imports wasmtime.
"""
