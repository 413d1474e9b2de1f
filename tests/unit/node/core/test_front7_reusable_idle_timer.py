"""hypercorn's keep-alive timer as node/http/serving.py installs it (ADR 0366): one watcher task per
connection instead of a new task per request, with hypercorn's behaviour kept — an idle connection
closes after keep_alive_timeout, a busy one never does, shutdown closes idle connections at once
and busy ones after their response."""

import trio
import trio.testing
from hypercorn.config import Config
from hypercorn.trio import serve

from node.http.serving import install_reusable_idle_timers

KEEP_ALIVE_SECONDS = 0.3
REQUEST = b"GET /x HTTP/1.1\r\nhost: test\r\n\r\n"


def make_application(release: trio.Event | None, started: list):
    async def application(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        while (await receive()).get("more_body"):
            pass
        started.append(scope["path"])
        if release is not None and scope["path"] == "/slow":
            await release.wait()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})
    return application


async def start_server(nursery, application, shutdown: trio.Event,
                       keep_alive_seconds: float = KEEP_ALIVE_SECONDS) -> int:
    install_reusable_idle_timers()
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None
    config.keep_alive_timeout = keep_alive_seconds
    config.graceful_timeout = 30
    binds = await nursery.start(lambda task_status: serve(application, config, shutdown_trigger=shutdown.wait,
                                                          task_status=task_status))
    return int(binds[0].rsplit(":", 1)[1])


async def read_response(stream, buffer: bytearray) -> bytes:
    while b"ok" not in buffer:
        chunk = await stream.receive_some(65536)
        assert chunk, "the server closed the connection before answering"
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    buffer[:] = rest[2:]
    return head


async def test_an_idle_keep_alive_connection_is_closed_once_the_timeout_passes():
    shutdown = trio.Event()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            port = await start_server(nursery, make_application(None, []), shutdown)
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            buffer = bytearray()
            for _ in range(3):
                await stream.send_all(REQUEST)
                assert (await read_response(stream, buffer)).startswith(b"HTTP/1.1 200")
            assert await stream.receive_some(100) == b""     # closed by the server's timer
            shutdown.set()


async def test_a_request_running_longer_than_the_timeout_keeps_its_connection():
    shutdown, release, started = trio.Event(), trio.Event(), []
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            port = await start_server(nursery, make_application(release, started), shutdown)
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            buffer = bytearray()
            await stream.send_all(REQUEST)
            await read_response(stream, buffer)
            await stream.send_all(REQUEST.replace(b"/x", b"/slow"))
            while "/slow" not in started:
                await trio.sleep(0.01)
            await trio.sleep(KEEP_ALIVE_SECONDS * 4)         # busy far past the keep-alive timeout
            release.set()
            assert (await read_response(stream, buffer)).startswith(b"HTTP/1.1 200")
            await stream.send_all(REQUEST)                      # still open right after the response
            assert (await read_response(stream, buffer)).startswith(b"HTTP/1.1 200")
            shutdown.set()


async def test_shutdown_closes_idle_connections_at_once_and_busy_ones_after_their_response():
    shutdown, release, started = trio.Event(), trio.Event(), []
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            port = await start_server(nursery, make_application(release, started), shutdown)
            idle = await trio.open_tcp_stream("127.0.0.1", port)
            busy = await trio.open_tcp_stream("127.0.0.1", port)
            idle_buffer, busy_buffer = bytearray(), bytearray()
            await idle.send_all(REQUEST)
            await read_response(idle, idle_buffer)
            await busy.send_all(REQUEST.replace(b"/x", b"/slow"))
            while "/slow" not in started:
                await trio.sleep(0.01)
            shutdown.set()
            assert await idle.receive_some(100) == b""
            release.set()
            assert (await read_response(busy, busy_buffer)).startswith(b"HTTP/1.1 200")
            assert await busy.receive_some(100) == b""


class SpawnedTasks(trio.abc.Instrument):
    def __init__(self) -> None:
        self.names: list[str] = []

    def task_spawned(self, task) -> None:
        self.names.append(task.name)


async def test_keep_alive_requests_start_no_timer_task_per_request():
    shutdown = trio.Event()
    spawned = SpawnedTasks()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            # a long timeout: the watcher never wakes during the 20 requests, whatever the load
            port = await start_server(nursery, make_application(None, []), shutdown, keep_alive_seconds=60)
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            buffer = bytearray()
            await stream.send_all(REQUEST)
            await read_response(stream, buffer)
            trio.lowlevel.add_instrument(spawned)
            try:
                for _ in range(20):
                    await stream.send_all(REQUEST)
                    await read_response(stream, buffer)
            finally:
                trio.lowlevel.remove_instrument(spawned)
            shutdown.set()
    # one task per request runs the application; hypercorn's own timer started one more each time
    assert len(spawned.names) == 20, spawned.names
