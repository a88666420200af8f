"""NATS and PostgreSQL restarted under load: services recover by themselves, commands meanwhile get a quick
`unavailable`, and nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import json
import time

from shared.config import Settings
from shared.runtime.embedded import EmbeddedNats, EmbeddedPostgres
from shared.runtime.processes import free_port
from shared.subjects import command_subject
from shared.verify import service_runtimes
from tests.conftest import eventually
from tests.faultkit import Load, RecordingClient, ServiceProcesses, Tally, assert_consistent, connect

PROBE = command_subject("projects", "register_department")


async def timed_probe(client: RecordingClient) -> tuple[dict, float]:
    """A command sent while a dependency is down: its reply and how long it took."""
    started = time.monotonic()
    reply = await client.request(PROBE, {"code": "probe-x", "full_name": "探测用部门", "short_name": "探测"}, timeout=2)
    return reply, time.monotonic() - started


async def run_with_outage(settings: Settings, procs: ServiceProcesses, nats_url: str, stop, start, *,
                          services_answer: bool) -> Tally:
    """Load, take a dependency away mid-load, probe, bring it back, more load, check everything.

    `services_answer`: the services are reachable during the outage (PostgreSQL down), so the
    `unavailable` must be theirs, not the client's own timeout.
    """
    nc = await connect(nats_url)
    tally = Tally()
    try:
        client = RecordingClient(nc, tally, timeout=2)
        await procs.wait_ready(client)
        load = Load(client, fuzz=60)
        await load.setup()
        running = asyncio.gather(load.projects(20, reports=3, concurrency=3), load.fuzz(concurrency=2))
        await eventually(lambda: asyncio.sleep(0, tally.outcomes["ok"] >= 30), timeout=20)
        stop()
        probes = [await timed_probe(client) for _ in range(3)]
        await asyncio.sleep(1)
        start()
        await running
        await procs.wait_ready(client, timeout=40)
        await load.projects(5, prefix="Z")  # everything flows again, no operator involved
        await load.department_messages(nc.jetstream())
        for reply, seconds in probes:
            assert reply["error"]["code"] == "unavailable", reply
            assert seconds < 3.0, f"answered after {seconds:.1f}s"
            assert ("服务暂时不可用" in reply["error"]["message"]) == services_answer, reply
        assert tally.acknowledged_by("projects") >= 50, json.dumps(tally.summary(), ensure_ascii=False)
        await assert_consistent(settings, tally, procs, settle_s=30)
        return tally
    finally:
        await nc.close()
        procs.stop_all()


async def test_nats_restart_during_load(database_url, tmp_path):
    server = EmbeddedNats(tmp_path / "nats", port=free_port()).start()
    try:
        settings = Settings(nats_url=server.url, database_url=database_url)
        procs = ServiceProcesses(server.url, database_url, tmp_path / "logs")
        procs.start(*service_runtimes(settings))
        tally = await run_with_outage(settings, procs, server.url, server.stop, server.start, services_answer=False)
        assert tally.outcomes["unavailable"] >= 3
    finally:
        server.stop()


async def test_postgres_restart_during_load(nats_url, tmp_path):
    pg = EmbeddedPostgres(tmp_path / "pg", port=free_port(), fast_unsafe=True).start()
    try:
        settings = Settings(nats_url=nats_url, database_url=pg.url)
        procs = ServiceProcesses(nats_url, pg.url, tmp_path / "logs")
        procs.start(*service_runtimes(settings))
        tally = await run_with_outage(settings, procs, nats_url, pg.stop, pg.start, services_answer=True)
        assert tally.outcomes["unavailable"] >= 3
    finally:
        pg.stop()
