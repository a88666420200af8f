"""What an RPC handler is told about a request: actor and correlation from the headers, on the event loop."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import anyio.to_thread
import pytest

from shared.contracts.base import Command
from shared.rpc import ACTOR_HEADER, CORRELATION_HEADER, RequestContext, RpcClient, RpcServer
from shared.service import make_broker
from tests.conftest import eventually

SUBJECT = "huimin.cmd.rpctest.echo"


class Echo(Command):
    """Say something back."""

    name = "echo"

    text: str


@pytest.fixture
async def echo_server(settings, monkeypatch):  # type: ignore[no-untyped-def]
    """An RPC server answering `echo` with what its handler was told; counts hand-offs to worker threads."""
    hops: list[Any] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(func)
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    broker = make_broker(settings, "rpctest")
    server = RpcServer("rpctest", settings)

    @server.handle(SUBJECT, Echo)
    async def echo(cmd: Echo, ctx: RequestContext) -> dict[str, Any]:
        return {"text": cmd.text, "actor": ctx.actor, "correlation_id": ctx.correlation_id,
                "received_at": ctx.received_at.isoformat(), "thread": threading.current_thread().name}

    await broker.connect()
    await broker.start()
    await server.start(broker.connection)
    await broker.connection.flush()
    yield hops
    await server.stop()
    await broker.stop()


async def test_actor_and_correlation_reach_the_handler(echo_server, nc):
    reply = await RpcClient(nc).request(SUBJECT, {"text": "你好"}, actor="office:王芳", correlation_id="corr-1")
    assert reply["ok"] is True, reply
    assert (reply["text"], reply["actor"], reply["correlation_id"]) == ("你好", "office:王芳", "corr-1")
    assert reply["received_at"].endswith("+00:00")


async def test_a_request_without_headers_is_the_system_under_a_new_correlation(echo_server, nc):
    first = await nc.request(SUBJECT, b'{"text": "a"}', timeout=5)
    second = await nc.request(SUBJECT, b'{"text": "b"}', timeout=5)
    replies = [json.loads(m.data) for m in (first, second)]
    assert [r["actor"] for r in replies] == ["system", "system"]
    assert replies[0]["correlation_id"] != replies[1]["correlation_id"] and replies[0]["correlation_id"]


async def test_requests_are_answered_without_a_worker_thread(echo_server, nc):
    """Resolving a request's context in anyio's worker thread cost a thread hand-off per command."""
    for i in range(5):
        reply = await RpcClient(nc).request(SUBJECT, {"text": str(i)}, actor="office:a")
        assert reply["ok"] and reply["thread"] == threading.main_thread().name
    assert echo_server == [], "a request went through a worker thread"


async def test_headers_sent_raw_are_read(echo_server, nc):
    msg = await nc.request(SUBJECT, b'{"text": "x"}', timeout=5,
                           headers={ACTOR_HEADER: "dept:jhslj", CORRELATION_HEADER: "c-42"})
    reply = json.loads(msg.data)
    assert (reply["actor"], reply["correlation_id"]) == ("dept:jhslj", "c-42")


async def test_a_subject_runs_at_most_its_workers_at_once_and_a_stop_lets_those_under_way_answer(settings, nc):
    settings = settings.model_copy(update={"rpc_max_workers": 2})
    broker = make_broker(settings, "rpctest")
    server = RpcServer("rpctest", settings)
    gate, running, peak = asyncio.Event(), set(), []

    @server.handle(SUBJECT, Echo)
    async def slow(cmd: Echo, ctx: RequestContext) -> dict[str, Any]:
        running.add(cmd.text)
        peak.append(len(running))
        await gate.wait()
        running.discard(cmd.text)
        return {"text": cmd.text}

    await broker.connect()
    await broker.start()
    await server.start(broker.connection)
    await broker.connection.flush()
    try:
        client = RpcClient(nc)
        first = [asyncio.create_task(client.request(SUBJECT, {"text": str(i)})) for i in range(5)]
        await eventually(lambda: asyncio.sleep(0, len(running) == 2))
        await asyncio.sleep(0.2)
        assert len(running) == 2, "the other requests wait for a free worker"
        gate.set()
        assert sorted(r["text"] for r in await asyncio.gather(*first)) == ["0", "1", "2", "3", "4"]
        assert max(peak) == 2
        gate.clear()
        under_way = asyncio.create_task(client.request(SUBJECT, {"text": "late"}))
        await eventually(lambda: asyncio.sleep(0, running == {"late"}))
        stopping = asyncio.create_task(server.stop())
        await asyncio.sleep(0.1)
        gate.set()
        await stopping
        assert (await under_way)["text"] == "late", "answered although the server was stopping"
        assert server.subscriptions == []
    finally:
        await server.stop()
        await broker.stop()


async def test_a_reply_too_large_for_nats_is_answered_with_the_reason(settings, nc):
    broker = make_broker(settings, "rpctest")
    server = RpcServer("rpctest", settings)

    @server.handle(SUBJECT, Echo)
    async def repeat(cmd: Echo, ctx: RequestContext) -> dict[str, Any]:
        return {"text": cmd.text * (nc.max_payload // len(cmd.text.encode()) + 1)}  # over the limit

    await broker.connect()
    await broker.start()
    await server.start(broker.connection)
    await broker.connection.flush()
    try:
        reply = await RpcClient(nc, timeout=5).request(SUBJECT, {"text": "长报告"})
        assert reply["ok"] is False and reply["error"]["code"] == "validation", reply
        assert "查询结果过大" in reply["error"]["message"], "an answer with the reason, not the caller's timeout"
        assert reply["error"]["details"]["max_bytes"] == nc.max_payload < reply["error"]["details"]["bytes"]
    finally:
        await server.stop()
        await broker.stop()
