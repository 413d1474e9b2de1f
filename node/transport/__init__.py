"""node/transport: framed, HMAC-authenticated frames over trio streams, multiplexed by request id.

One code path serves front ↔ shard worker (AF_UNIX socketpair) and node ↔ node (TCP). It owns
the wire format and request/response matching; it must never know what a method means.
"""
