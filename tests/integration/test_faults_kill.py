"""kill -9 of each write service, and of the projection mid-batch, under load: nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import json

import asyncpg

from shared.verify import service_runtimes
from tests.conftest import eventually
from tests.faultkit import Load, RecordingClient, ServiceProcesses, Tally, assert_consistent, connect


async def test_kill_each_write_service_in_the_middle_of_a_load(settings, tmp_path):
    runtimes = service_runtimes(settings)
    writers = [name for name, rt in runtimes.items() if rt.event_sourced]
    assert "projects" in writers, writers
    procs = ServiceProcesses(settings.nats_url, settings.database_url, tmp_path / "logs")
    procs.start(*runtimes)
    nc = await connect(settings.nats_url)
    tally = Tally()
    try:
        client = RecordingClient(nc, tally, timeout=3, retry_s=10)
        await procs.wait_ready(client)
        load = Load(client, fuzz=120)
        await load.setup()
        # Project scenarios and commands to every service, while each write service in turn is killed.
        running = asyncio.gather(load.projects(25, reports=3, concurrency=3), load.fuzz(concurrency=2))
        for victim in writers:
            before = sum(tally.sent.values())
            await eventually(lambda before=before: asyncio.sleep(0, sum(tally.sent.values()) >= before + 30),
                             timeout=30)
            procs.restart(victim)
        await running
        await procs.wait_ready(client)
        await load.projects(3, prefix="Z")  # after the last restart, everything flows again
        await load.department_messages(nc.jetstream())
        assert procs.kills == {w: 1 for w in writers}
        report = await assert_consistent(settings, tally, procs)
        assert tally.outcomes["unavailable"] > 0, "no command was refused: the kills came too late"
        assert tally.acknowledged_by("projects") >= 100, json.dumps(tally.summary(), ensure_ascii=False)
        assert report.counts["events in projects"] >= 100
    finally:
        await nc.close()
        procs.stop_all()


async def applied(database_url: str) -> int:
    """Events the projection's live or rebuilding tables have passed (sum of stream versions)."""
    conn = await asyncpg.connect(database_url)
    try:
        total = 0
        for schema in ("projection", "projection_next"):
            if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{schema}.stream_versions"):
                total = max(total, await conn.fetchval(f"SELECT coalesce(sum(version), 0) FROM {schema}.stream_versions"))
        return total
    finally:
        await conn.close()


async def test_kill_projection_mid_batch_then_read_models_equal_a_rebuild(settings, tmp_path):
    runtimes = service_runtimes(settings)
    writers = [name for name, rt in runtimes.items() if name != "projection"]
    procs = ServiceProcesses(settings.nats_url, settings.database_url, tmp_path / "logs")
    procs.env["HUIMIN_PROJECTION_BATCH_SIZE"] = "10"  # many small batches: the kill lands inside one
    procs.env["HUIMIN_PROJECTION_REBUILD_BATCH_SIZE"] = "10"  # the first build's batches too
    procs.start(*writers)
    nc = await connect(settings.nats_url)
    tally = Tally()
    try:
        client = RecordingClient(nc, tally, timeout=3)
        await procs.wait_ready(client)
        load = Load(client)
        await load.setup()
        await load.projects(20, reports=3)
        conn = await asyncpg.connect(settings.database_url)
        total = await conn.fetchval("SELECT count(*) FROM projects.events")
        await conn.close()

        # 1. During the first build (a replay into fresh tables, then the swap).
        procs.start("projection")
        await eventually(lambda: applied(settings.database_url), timeout=20, interval=0.01)
        procs.kill("projection")
        assert await applied(settings.database_url) < total, "the kill came after the build: not mid-batch"
        procs.start("projection")
        await procs.wait_ready(client, ["projection"])

        # 2. While following the stream live.
        base = await applied(settings.database_url)
        load_task = asyncio.create_task(load.projects(15, reports=3, prefix="M"))
        await eventually(lambda: _above(settings.database_url, base + 20), timeout=20, interval=0.01)
        procs.kill("projection")
        await load_task
        procs.start("projection")
        await procs.wait_ready(client, ["projection"])
        assert procs.kills["projection"] == 2
        await assert_consistent(settings, tally, procs)
    finally:
        await nc.close()
        procs.stop_all()


async def _above(database_url: str, floor: int) -> bool:
    return await applied(database_url) > floor
