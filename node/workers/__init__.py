"""node/workers: the shard worker processes and the front's pool that talks to them.

The front (node/server.py) owns a ``ShardWorkers`` pool (pool.py); each worker process runs
worker_main.py, hosts ``index.Shard`` objects in a ``ShardRegistry`` (registry.py) and dispatches
methods through shard_service.py (owned by node-api). Nothing here knows what a method means.
"""
