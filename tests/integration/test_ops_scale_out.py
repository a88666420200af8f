"""Scale out: two instances of a write service and of the projection side by side (queue groups share the
commands, one relay and one projector are active and hand over when their instance stops)."""

from __future__ import annotations

import asyncio

from services.projection.main import build as build_projection
from shared.rpc import RpcClient
from shared.subjects import command_subject, query_subject
from tests.conftest import eventually
from tests.integration.ops_support import YEAR, build_service, listed_codes, prepare_year, voted_project

REGISTER = command_subject("projects", "register_voted_project")


def handled(rt, subject: str) -> int:  # type: ignore[no-untyped-def]
    """Requests this instance's subscription has received on a subject."""
    return sum(s.delivered for s in rt.rpc.subscriptions if s.subject == subject)


async def send(client: RpcClient, codes: list[str]) -> None:
    replies = await asyncio.gather(*(client.request(REGISTER, voted_project(c)) for c in codes))
    assert all(r["ok"] for r in replies), [r for r in replies if not r["ok"]]


async def listed_total(client: RpcClient) -> int:
    return (await client.request(query_subject("projects", "list"), {"year": YEAR, "limit": 1000}))["total"]


async def test_two_instances_of_a_write_service_and_of_the_projection(settings, nc):
    writers = [build_service("projects", settings) for _ in range(2)]
    readers = [build_projection(settings) for _ in range(2)]  # (runtime, runner handle)
    running = [*writers, *(rt for rt, _ in readers)]
    for rt in running:
        await rt.start()
    try:
        client = RpcClient(nc)
        await prepare_year(client)

        async def one_relay() -> bool:
            return sum(w.relay.active for w in writers) == 1

        async def one_projector() -> bool:
            return sum(bool(ref.current and ref.current.active) for _, ref in readers) == 1

        await eventually(one_relay)
        await eventually(one_projector)

        first = [f"a{i:02d}" for i in range(40)]
        await send(client, first)
        # The queue group shares the commands: both instances answered some, none was answered twice.
        counts = [handled(w, REGISTER) for w in writers]
        assert sum(counts) == len(first) and min(counts) > 0, counts
        await eventually(lambda: _listed(client, first))
        assert await one_relay() and await one_projector()

        # Stop the instance whose relay is active and the active projector: the others take over.
        active_writer = next(w for w in writers if w.relay.active)
        active_reader = next((rt, ref) for rt, ref in readers if ref.current and ref.current.active)
        await active_writer.stop()
        await active_reader[0].stop()
        running.remove(active_writer)
        running.remove(active_reader[0])
        writers.remove(active_writer)
        readers.remove(active_reader)

        second = [f"b{i:02d}" for i in range(10)]
        await send(client, second)
        await eventually(one_relay, timeout=10)
        await eventually(one_projector, timeout=10)
        await eventually(lambda: _listed(client, first + second), timeout=15)
        # Exactly once in the read model after the hand-over.
        assert await listed_total(client) == len(first) + len(second)
    finally:
        for rt in running:
            await rt.stop()


async def _listed(client: RpcClient, codes: list[str]) -> bool:
    return set(codes) <= await listed_codes(client)
