"""bench/hello_server.py — the HTTP ceiling: a bare hypercorn route on trio that answers "hello".

Run as ``python bench/hello_server.py PORT``; serves ``GET``/``POST`` on any path with a 13-byte
JSON body, HTTP/1.1 keep-alive, one process (as the node's front process is). node_search.py and
cluster.py measure it with the same client, in the same run, as the node's search.

Must never: do any work per request beyond answering (it is the ceiling, not a model of the node).
"""

from __future__ import annotations

import sys

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

HELLO_BODY = b'{"hello":true}'


async def hello_application(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    # drain the request body (a search body arrives with POST) before answering
    while True:
        message = await receive()
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(HELLO_BODY)).encode())]})
    await send({"type": "http.response.body", "body": HELLO_BODY})


def main() -> None:
    config = Config()
    config.bind = [f"127.0.0.1:{int(sys.argv[1])}"]
    config.accesslog = None
    config.errorlog = None
    config.keep_alive_timeout = 600
    trio.run(serve, hello_application, config)


if __name__ == "__main__":
    main()
