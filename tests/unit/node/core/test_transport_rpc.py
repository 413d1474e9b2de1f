"""Multiplexed request/response: concurrency, error travel, closed connections."""

import logging

import pytest
import trio
import trio.testing

from index.errors import MappingUpdateRequired, VersionConflictError
from node.transport.errors import ConnectionClosedError, RemoteError
from node.transport.framing import FrameStream
from node.transport.rpc import RpcClient, serve_rpc

SECRET = b"s" * 32


async def handler(method, payload, body):
    if method == "slow":
        await trio.sleep(payload["seconds"])
        return {"slow": True}, b""
    if method == "echo":
        return {"echo": payload}, body
    if method == "conflict":
        raise VersionConflictError("[1]: version conflict, current version [2] is different")
    if method == "mapping":
        raise MappingUpdateRequired({"properties": {"f": {"type": "long"}}})
    raise KeyError(method)


async def start_pair(nursery):
    left, right = trio.testing.memory_stream_pair()
    client = RpcClient(FrameStream(left, SECRET), name="test")
    nursery.start_soon(client.run)
    nursery.start_soon(serve_rpc, FrameStream(right, SECRET), handler, logging.getLogger("test"))
    return client


async def test_concurrent_requests_are_matched_to_their_own_responses(autojump_clock):
    async with trio.open_nursery() as nursery:
        client = await start_pair(nursery)
        answers = {}

        async def ask(number):
            answers[number] = await client.request("echo", {"n": number}, str(number).encode())

        async def slow():
            answers["slow"] = await client.request("slow", {"seconds": 5})

        nursery.start_soon(slow)
        for number in range(20):
            nursery.start_soon(ask, number)
        await trio.sleep(10)
        assert answers["slow"] == ({"slow": True}, b"")
        for number in range(20):
            assert answers[number] == ({"echo": {"n": number}}, str(number).encode())
        nursery.cancel_scope.cancel()


async def test_index_errors_arrive_as_the_same_class_with_their_details():
    async with trio.open_nursery() as nursery:
        client = await start_pair(nursery)
        with pytest.raises(VersionConflictError, match="version conflict"):
            await client.request("conflict", {})
        with pytest.raises(MappingUpdateRequired) as caught:
            await client.request("mapping", {})
        assert caught.value.update == {"properties": {"f": {"type": "long"}}}
        with pytest.raises(RemoteError) as remote:
            await client.request("unknown", {})
        assert remote.value.error_type == "KeyError"
        nursery.cancel_scope.cancel()


async def test_pending_requests_fail_when_the_connection_closes():
    left, right = trio.testing.memory_stream_pair()
    client = RpcClient(FrameStream(left, SECRET), name="test")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(client.run)

        async def close_soon():
            await trio.testing.wait_all_tasks_blocked()
            await right.aclose()

        nursery.start_soon(close_soon)
        with pytest.raises(ConnectionClosedError):
            await client.request("echo", {})


async def test_the_http_request_id_travels_with_a_request_to_the_far_side():
    from node.logs import request_id

    seen = []

    async def recording_handler(method, payload, body):
        seen.append(request_id.get())
        return {}, b""

    left, right = trio.testing.memory_stream_pair()
    client = RpcClient(FrameStream(left, SECRET), name="test")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(client.run)
        nursery.start_soon(serve_rpc, FrameStream(right, SECRET), recording_handler, logging.getLogger("test"))
        token = request_id.set("req-99")
        await client.request("anything", {})
        request_id.reset(token)
        await client.request("anything", {})
        assert seen == ["req-99", None]
        nursery.cancel_scope.cancel()
