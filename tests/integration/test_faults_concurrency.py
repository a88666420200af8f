"""Many clients, one aggregate, at the same moment: each gets success or a conflict, and no update is lost."""

from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg
import nats
import pytest

from shared.rpc import RpcClient
from shared.subjects import command_subject
from tests.faultkit import Load, RecordingClient, Tally, start_in_process, stop_in_process

CLIENTS = 16


@pytest.fixture
async def clients(nats_url):
    """Separate NATS connections, as separate gateway instances or users would have."""
    conns = [await nats.connect(nats_url) for _ in range(CLIENTS)]
    yield [RpcClient(c, timeout=10) for c in conns]
    for c in conns:
        await c.close()


@pytest.fixture
async def projects(settings, nc):
    runtimes = await start_in_process(settings, ["projects"])
    load = Load(RecordingClient(nc, Tally()))
    await load.setup()
    yield load
    await stop_in_process(runtimes)


def outcome(reply: dict) -> str:
    return "ok" if reply.get("ok") else reply["error"]["code"]


async def test_one_registration_wins_a_race(projects, clients, settings):
    code = "RACE1"
    bodies = [{"year": projects.year, "code": code, "title": f"并发登记项目 {i}", "category": "城乡建设",
               "lead_unit": "load-a", "votes_for": 200, "votes_against": 1, "votes_abstain": 0,
               "voted_on": f"{projects.year}-01-12"} for i in range(CLIENTS)]
    replies = await asyncio.gather(*(c.request(command_subject("projects", "register_voted_project"), b)
                                     for c, b in zip(clients, bodies, strict=True)))
    outcomes = Counter(map(outcome, replies))
    assert outcomes == {"ok": 1, "conflict": CLIENTS - 1}, replies
    winner = bodies[[outcome(r) for r in replies].index("ok")]
    conn = await asyncpg.connect(settings.database_url)
    try:
        rows = await conn.fetch("SELECT version, data->>'title' AS title FROM projects.events WHERE stream_id = $1",
                                f"project-{projects.year}-{code}")
    finally:
        await conn.close()
    assert [(r["version"], r["title"]) for r in rows] == [(1, winner["title"])]


async def test_concurrent_reports_on_one_project_lose_nothing(projects, clients, settings):
    await projects.projects(1, reports=0)
    code, lead = next(iter(projects.leads.items()))
    rounds = 3
    replies = []
    for n in range(rounds):  # several waves, each from every client at once
        replies += await asyncio.gather(*(c.request(command_subject("projects", "report_progress"), {
            "year": projects.year, "code": code, "reported_by": lead, "as_of": f"{projects.year}-05-0{n + 1}",
            "percent": 10 * (n + 1), "narrative": f"客户端 {i} 第 {n + 1} 轮"}) for i, c in enumerate(clients)))
    outcomes = Counter(map(outcome, replies))
    assert set(outcomes) <= {"ok", "conflict"}, replies
    assert outcomes["ok"] >= rounds, outcomes
    conn = await asyncpg.connect(settings.database_url)
    try:
        rows = await conn.fetch("SELECT version, event_id::text AS id, data->>'narrative' AS narrative FROM projects.events "
                                "WHERE stream_id = $1 AND type = 'ProgressReported' ORDER BY version",
                                f"project-{projects.year}-{code}")
        versions = await conn.fetchval("SELECT array_agg(version ORDER BY version) FROM projects.events "
                                       "WHERE stream_id = $1", f"project-{projects.year}-{code}")
    finally:
        await conn.close()
    acknowledged = {i for r in replies if r.get("ok") for i in r["event_ids"]}
    assert {r["id"] for r in rows} == acknowledged, "every success is stored once, nothing else is"
    assert versions == list(range(1, len(versions) + 1)), "no version written twice or skipped"
    narratives = Counter(r["narrative"] for r in rows)
    assert max(narratives.values()) == 1, "no report stored twice"
