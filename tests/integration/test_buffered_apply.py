"""Batches applied model by model with queued writes: reads see earlier writes, a poison event found at
the flush (a database error) is dead-lettered alone and the rest of its batch applies."""

from __future__ import annotations

import pytest

from services.projection.runner import LIVE_SCHEMA, ProjectionRunner
from shared.consumer import Outcome
from shared.contracts.base import registry
from shared.db import create_pool
from shared.readmodel import ReadModel
from shared.streams import ensure_streams
from tests.integration.test_eventstore import Noted
from tests.integration.test_projection_runner import delivery, envelopes

ledger = ReadModel(
    name="ledger",
    ddl="""
    CREATE TABLE ledger_entries (stream_id text NOT NULL, version integer NOT NULL,
                                 text text NOT NULL CHECK (text <> 'poison'), PRIMARY KEY (stream_id, version));
    CREATE TABLE ledger_totals (stream_id text PRIMARY KEY, texts text[] NOT NULL, seen integer[] NOT NULL);
    """,
)


@ledger.on(Noted)
async def entry(conn, env, e):
    """Two tables per event (their writes interleave) and a read of the first after each write."""
    # 'poison' breaks the CHECK: with the write queued, the error only shows when it is sent.
    await conn.execute("INSERT INTO ledger_entries (stream_id, version, text) VALUES ($1, $2, $3)",
                       env.stream_id, env.version, e.text)
    seen = await conn.fetchval("SELECT count(*) FROM ledger_entries WHERE stream_id = $1", env.stream_id)
    await conn.execute(
        """INSERT INTO ledger_totals (stream_id, texts, seen) VALUES ($1, ARRAY[$2], ARRAY[$3::int])
           ON CONFLICT (stream_id) DO UPDATE SET texts = ledger_totals.texts || $2,
                                                 seen = ledger_totals.seen || $3::int""",
        env.stream_id, e.text, seen,
    )


shadow = ReadModel(name="shadow", ddl="CREATE TABLE shadow (stream_id text, version integer, text text);")


@shadow.on(Noted)
async def shadow_entry(conn, env, e):
    """A model applied before the ledger (its tables are independent): the poison's savepoint undoes it too."""
    await conn.execute("INSERT INTO shadow VALUES ($1, $2, $3)", env.stream_id, env.version, e.text)


@pytest.fixture
async def runner(settings, nc):
    pool = await create_pool(settings, settings.database_url, LIVE_SCHEMA, "tests")
    js = nc.jetstream()
    await ensure_streams(js, settings)
    yield ProjectionRunner(pool, js, settings, [shadow, ledger], registry, settings.database_url)
    await pool.close()


async def test_reads_see_the_queued_writes_and_order_per_stream_holds(runner):
    events = envelopes(streams=3, per_stream=4)
    await runner._create_schema(LIVE_SCHEMA)
    outcomes = await runner._apply(LIVE_SCHEMA, [delivery(e, i + 1) for i, e in enumerate(events)])
    assert outcomes == [Outcome.APPLIED] * len(events)
    totals = {r["stream_id"]: (r["texts"], r["seen"])
              for r in await runner.pool.fetch(f"SELECT * FROM {LIVE_SCHEMA}.ledger_totals")}
    assert totals["note-2"] == (["s2v1", "s2v2", "s2v3", "s2v4"], [1, 2, 3, 4])
    assert await runner.pool.fetchval(f"SELECT count(*) FROM {LIVE_SCHEMA}.shadow") == len(events)
    applier = runner.follower.applier
    assert applier.round_trips < applier.statements + applier.reads  # the writes did go out grouped


async def test_a_poison_event_failing_at_the_flush_is_dead_lettered_alone(runner):
    events = envelopes(streams=3, per_stream=4, poison_at=(1, 2))
    poison = next(e for e in events if e.body["text"] == "poison")
    await runner._create_schema(LIVE_SCHEMA)
    outcomes = await runner._apply(LIVE_SCHEMA, [delivery(e, i + 1) for i, e in enumerate(events)])
    assert [o for o, e in zip(outcomes, events, strict=True) if e is poison] == [Outcome.DEAD]
    assert outcomes.count(Outcome.APPLIED) == len(events) - 1
    dead = await runner.pool.fetch(f"SELECT event_id, error FROM {LIVE_SCHEMA}.dead_letters")
    assert [(r["event_id"], "ledger_entries_text_check" in r["error"]) for r in dead] == [(poison.event_id, True)]
    totals = {r["stream_id"]: r["texts"] for r in await runner.pool.fetch(
        f"SELECT stream_id, texts FROM {LIVE_SCHEMA}.ledger_totals")}
    assert totals == {"note-0": ["s0v1", "s0v2", "s0v3", "s0v4"], "note-1": ["s1v1", "s1v3", "s1v4"],
                      "note-2": ["s2v1", "s2v2", "s2v3", "s2v4"]}
    assert await runner.pool.fetchval(
        f"SELECT count(*) FROM {LIVE_SCHEMA}.shadow WHERE text = 'poison'") == 0
    versions = await runner.pool.fetchval(f"SELECT sum(version) FROM {LIVE_SCHEMA}.stream_versions")
    assert versions == 12  # the dead event counts as passed: its stream goes on
