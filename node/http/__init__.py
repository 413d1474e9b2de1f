"""node/http: the REST front door — the quart-trio app factory and hypercorn serving.

It owns request ids, body limits, content types, GET /, the metrics endpoint and the HTTP-layer
errors (413, 406, unmatched routes); node/api owns every other endpoint. It must never talk to a
shard or to Raft except through the NodeContext it hands to the API layer.
"""
