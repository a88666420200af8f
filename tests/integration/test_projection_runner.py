"""Projection runner: idempotent under redelivery, poison events dead-lettered, rebuild equals incremental."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime

import pytest

from shared.consumer import Delivery, Outcome
from shared.readmodel import ReadModel
from services.projection.runner import LIVE_SCHEMA, NEXT_SCHEMA, ProjectionRunner
from shared.contracts.base import EventEnvelope, registry
from shared.db import create_pool
from shared.streams import ensure_streams
from shared.subjects import EVENTS_STREAM, event_subject
from tests.conftest import eventually
from tests.integration.test_eventstore import Noted

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)

notes = ReadModel(
    name="notes",
    ddl="CREATE TABLE notes (stream_id text PRIMARY KEY, texts text[] NOT NULL, n integer NOT NULL);",
)


@notes.on(Noted)
async def noted(conn, env, e):
    """Order-sensitive and not idempotent by itself: only the runner's version check protects it."""
    if e.text == "poison":
        raise ValueError("this event cannot be applied")
    await conn.execute(
        """INSERT INTO notes (stream_id, texts, n) VALUES ($1, ARRAY[$2], 1)
           ON CONFLICT (stream_id) DO UPDATE SET texts = notes.texts || $2, n = notes.n + 1""",
        env.stream_id, e.text,
    )


def envelopes(streams: int, per_stream: int, poison_at: tuple[int, int] | None = None) -> list[EventEnvelope]:
    out = []
    for v in range(1, per_stream + 1):
        for s in range(streams):
            text = "poison" if poison_at == (s, v) else f"s{s}v{v}"
            out.append(EventEnvelope(
                event_id=uuid.uuid4(), type="TestNoted", schema_version=1, stream_id=f"note-{s}", version=v,
                occurred_at=NOW, recorded_at=NOW, actor="t", correlation_id="c", body={"text": text},
            ))
    return out


def delivery(env: EventEnvelope, seq: int | None = None) -> Delivery:
    return Delivery(env.model_dump_json().encode(), event_subject("testsvc", env.stream_id, env.type), seq)


@pytest.fixture
async def runner(settings, nc):
    pool = await create_pool(settings, settings.database_url, LIVE_SCHEMA, "tests")
    js = nc.jetstream()
    await ensure_streams(js, settings)
    yield ProjectionRunner(pool, js, settings, [notes], registry, settings.database_url)
    await pool.close()


async def rows(runner: ProjectionRunner, schema: str = LIVE_SCHEMA) -> list[tuple]:
    return [tuple(r) for r in await runner.pool.fetch(f"SELECT stream_id, texts, n FROM {schema}.notes ORDER BY 1")]


async def feed(runner: ProjectionRunner, schema: str, deliveries: list[Delivery], batch: int) -> list[Outcome]:
    """Apply in batches; like a nak, a delivery that hit a gap is queued again at the end."""
    queue, seen = list(deliveries), []
    while queue:
        chunk, queue = queue[:batch], queue[batch:]
        outcomes = await runner._apply(schema, chunk)
        seen += outcomes
        queue += [d for d, o in zip(chunk, outcomes, strict=True) if o is Outcome.GAP]
    return seen


async def test_duplicates_and_shifted_batches_give_the_same_read_model(runner):
    events = [delivery(e) for e in envelopes(streams=6, per_stream=8)]
    await runner._create_schema(LIVE_SCHEMA)
    await feed(runner, LIVE_SCHEMA, events, batch=10)
    once = await rows(runner)
    assert len(once) == 6 and all(r[2] == 8 for r in once)

    await runner._create_schema(LIVE_SCHEMA)
    shuffled = events + events  # every event twice ...
    rng = random.Random(7)
    rng.shuffle(shuffled)  # ... out of order, across different batch boundaries
    outcomes = await feed(runner, LIVE_SCHEMA, shuffled, batch=7)
    assert await rows(runner) == once
    assert outcomes.count(Outcome.APPLIED) == len(events)
    assert Outcome.DUPLICATE in outcomes and Outcome.GAP in outcomes


async def test_poison_event_is_dead_lettered_and_the_rest_flows(runner):
    events = envelopes(streams=3, per_stream=4, poison_at=(1, 2))
    await runner._create_schema(LIVE_SCHEMA)
    outcomes = await feed(runner, LIVE_SCHEMA, [delivery(e, i + 1) for i, e in enumerate(events)], batch=5)
    assert outcomes.count(Outcome.DEAD) == 1
    dead = await runner.pool.fetch(f"SELECT event_id, stream_seq, error FROM {LIVE_SCHEMA}.dead_letters")
    poison = next(e for e in events if e.body["text"] == "poison")
    assert [(r["event_id"], "cannot be applied" in r["error"]) for r in dead] == [(poison.event_id, True)]
    result = {r[0]: r[1] for r in await rows(runner)}
    assert result["note-1"] == ["s1v1", "s1v3", "s1v4"], "later events of the poisoned stream still apply"
    assert result["note-0"] == ["s0v1", "s0v2", "s0v3", "s0v4"]


async def test_unparseable_message_is_dead_lettered(runner):
    await runner._create_schema(LIVE_SCHEMA)
    bad = Delivery(b"{not json", "huimin.evt.testsvc.x.TestNoted", 42)
    good = delivery(envelopes(1, 1)[0], 43)
    assert await runner._apply(LIVE_SCHEMA, [bad, good]) == [Outcome.DEAD, Outcome.APPLIED]
    assert await runner.pool.fetchval(f"SELECT stream_seq FROM {LIVE_SCHEMA}.dead_letters") == 42


async def applied_versions(runner: ProjectionRunner, expected: int) -> bool:
    """Whether the live tables have passed events up to the expected sum of current stream versions."""
    if not runner.active:
        return False
    try:
        total = await runner.pool.fetchval(f"SELECT coalesce(sum(version), 0) FROM {LIVE_SCHEMA}.stream_versions")
    except Exception:  # noqa: BLE001 (tables not built yet)
        return False
    return total == expected


async def test_live_runner_and_rebuild_produce_the_same_rows(runner, nc):
    js = nc.jetstream()
    events = envelopes(streams=5, per_stream=6, poison_at=(2, 3))
    for env in events[:20]:
        await js.publish(event_subject("testsvc", env.stream_id, env.type), env.model_dump_json().encode(),
                         headers={"Nats-Msg-Id": str(env.event_id)})
    await js.publish("huimin.evt.testsvc.junk.TestNoted", b"\xff not an envelope")
    task = asyncio.create_task(runner.run())
    try:
        await eventually(lambda: applied_versions(runner, 5 * 4))
        for env in events[20:]:  # events that arrive while the runner follows the stream
            await js.publish(event_subject("testsvc", env.stream_id, env.type), env.model_dump_json().encode(),
                             headers={"Nats-Msg-Id": str(env.event_id)})

        await eventually(lambda: applied_versions(runner, 5 * 6))
        incremental = await rows(runner)
        dead_before = await runner.pool.fetchval(f"SELECT count(*) FROM {LIVE_SCHEMA}.dead_letters")
        assert dead_before == 2  # the poison event and the junk message

        result = await runner.rebuild()
        assert result["events"] == 29  # 30 events, one of them poison
        assert await rows(runner) == incremental
        assert await runner.pool.fetchval(f"SELECT count(*) FROM {LIVE_SCHEMA}.dead_letters") == dead_before
        assert not await runner.pool.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", NEXT_SCHEMA)

        # The live runner keeps following the stream on the swapped-in tables.
        extra = envelopes(streams=1, per_stream=7)[-1]
        extra = extra.model_copy(update={"stream_id": "note-0"})
        await js.publish(event_subject("testsvc", "note-0", "TestNoted"), extra.model_dump_json().encode())
        await eventually(lambda: runner.pool.fetchval(f"SELECT n = 7 FROM {LIVE_SCHEMA}.notes WHERE stream_id = 'note-0'"))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert (await js.stream_info(EVENTS_STREAM)).state.messages == 32
