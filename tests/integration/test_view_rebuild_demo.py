"""Rebuilding every view from history gives exactly the rows built incrementally, after the demo year.

Every service runs in-process with its demo loader; once the projection has caught up, every table
of the `projection` schema is snapshotted, the runner rebuilds from HUIMIN_EVENTS, and each table
is compared row by row (as sets: row order is not part of a table). The full demo (every loader)
runs: about a minute on a laptop, most of it the loaders waiting for each other's projections.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from typing import Any

import asyncpg

from services.projection.main import build as build_projection
from services.projection.runner import LIVE_SCHEMA
from shared.demo import activities as demo_activities
from shared.demo import load_all
from shared.rpc import RpcClient
from shared.subjects import EVENTS_STREAM, health_subject, query_subject
from tests.conftest import eventually

WRITE_SERVICES = ("projects", "delegates", "activities", "feedback")

# Columns left out of the comparison, per table. None: every column of every table (the consumer
# bookkeeping and model_meta included) is equal after a rebuild, so nothing is excluded.
EXCLUDED: dict[str, set[str]] = {}


async def snapshot(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the projection schema as a sorted list of rows (text form, excluded columns dropped)."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = [r["table_name"] for r in await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", LIVE_SCHEMA)]
        out = {}
        for t in tables:
            cols = [r["column_name"] for r in await conn.fetch(
                """SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2
                   ORDER BY ordinal_position""", LIVE_SCHEMA, t) if r["column_name"] not in EXCLUDED.get(t, set())]
            rows = await conn.fetch(f"SELECT {', '.join(f'{c}::text' for c in cols)} FROM {LIVE_SCHEMA}.{t}")
            out[t] = sorted(tuple(r) for r in rows)
        return out
    finally:
        await conn.close()


async def boards_and_briefing_answer(client: RpcClient, pool: asyncpg.Pool) -> None:
    """The group and department boards and a briefing answer over NATS on the demo year."""
    group_id = await pool.fetchval(f"SELECT min(group_id) FROM {LIVE_SCHEMA}.sv_assignment")
    dept = await pool.fetchval(f"SELECT min(lead_unit) FROM {LIVE_SCHEMA}.sv_projects")
    group = await client.call(query_subject("board", "group"), {"group_id": group_id, "year": 2026})
    assert group["members"] and group["projects"] and group["attendance"]["total"] > 0, group
    department = await client.call(query_subject("board", "department"), {"dept_code": dept, "year": 2026})
    assert department["projects"] and department["name"] != dept, department  # named from DepartmentRegistered
    briefing = await client.call(query_subject("briefing", "generate"),
                                 {"year": 2026, "start": "2026-04-01", "end": "2026-06-30"})
    assert briefing["activities"] and "## 一、活动开展" in briefing["markdown"] and "<h1>" in briefing["html"]


async def test_rebuild_equals_incremental_after_demo_year(settings, nc, monkeypatch):
    monkeypatch.setattr(demo_activities, "POLL_S", 0.2)
    services = [importlib.import_module(f"services.{s}.main").build(settings) for s in WRITE_SERVICES]
    projection, ref = build_projection(settings)
    runtimes = [*services, projection]
    for rt in runtimes:
        await rt.start()
    try:
        loaded = await load_all(RpcClient(nc))
        assert all(loaded.values()), loaded

        seen: list[int] = []

        async def caught_up() -> bool:
            # Nothing pending, and nothing new published since the last look (outboxes drained).
            seen.append((await nc.jetstream().stream_info(EVENTS_STREAM)).state.last_seq)
            idle = len(seen) > 1 and seen[-1] == seen[-2]
            return idle and ref.current is not None and ref.current.active and await ref.current.lag() == 0

        await eventually(caught_up, timeout=60, interval=0.5)
        incremental = await snapshot(settings.database_url)
        # Readiness shows the read-model lag: nothing pending, and the time of the latest event applied.
        health = await RpcClient(nc).request(health_subject("projection"), {})
        latest = await projection.pool.fetchval(f"SELECT max(recorded_at) FROM {LIVE_SCHEMA}.timeline")
        assert health["lag"] == 0 and datetime.fromisoformat(health["last_applied_at"]) == latest, health
        empty = [t for t in ("sv_projects", "timeline", "bd_members", "bd_attendance", "bd_feedback_depts",
                             "br_reports", "pr_items") if not incremental[t]]
        assert empty == [], "the demo year reached every view"
        await ref.current.rebuild()
        rebuilt = await snapshot(settings.database_url)
        assert set(rebuilt) == set(incremental)
        differing = [t for t in incremental if rebuilt[t] != incremental[t]]
        assert differing == [], {t: (len(incremental[t]), len(rebuilt[t])) for t in differing}
        await boards_and_briefing_answer(RpcClient(nc), projection.pool)
    finally:
        for rt in reversed(runtimes):
            await rt.stop()
