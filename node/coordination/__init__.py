"""Coordination: what the node does between an HTTP request and the shards.

Owns index-expression resolution (resolve.py), the shard director that follows the cluster
state and routes calls to primaries (shards.py), the write path (writes.py), admission control
(admission.py), statistics and health (stats.py, health.py), _source filtering
(source_filter.py), value parsing shared with the workers (values.py) and ``ApiServices``
(services.py). node/coordination/search.py is the search engineer's.

It must never build HTTP responses (node/api does) nor import quart.
"""
