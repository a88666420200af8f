"""After a rebuild the live consumer goes on from where the rebuild got to: no event missed, none read twice."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from services.projection.runner import DURABLE, LIVE_SCHEMA, ProjectionRunner
from shared.consumer import Outcome
from shared.contracts.base import EventEnvelope, registry
from shared.db import create_pool
from shared.streams import ensure_streams
from shared.subjects import EVENTS_STREAM, event_subject
from tests.conftest import eventually
from tests.integration.test_projection_runner import (
    applied_versions,
    envelopes,
    notes,
    rows,
)

STREAMS, VERSIONS = 8, 12  # 96 events; the first 8 versions before the rebuild, the rest during and after it


@pytest.fixture
async def runner(settings, nc):
    # Small rebuild batches, so the rebuild takes several and events can arrive between them.
    settings = settings.model_copy(update={"projection_rebuild_batch_size": 10})
    pool = await create_pool(settings, settings.database_url, LIVE_SCHEMA, "tests")
    js = nc.jetstream()
    await ensure_streams(js, settings)
    yield ProjectionRunner(pool, js, settings, [notes], registry, settings.database_url)
    await pool.close()


async def publish(js, events: list[EventEnvelope]) -> None:
    for env in events:
        await js.publish(event_subject("testsvc", env.stream_id, env.type), env.model_dump_json().encode(),
                         headers={"Nats-Msg-Id": str(env.event_id)})


def by_version(events: list[EventEnvelope], first: int, last: int) -> list[EventEnvelope]:
    return [e for e in events if first <= e.version <= last]


def duplicates() -> float:
    """Deliveries the live consumer found already applied (the metric counts across tests: compare deltas)."""
    value = REGISTRY.get_sample_value("huimin_events_consumed_total",
                                      {"durable": DURABLE, "outcome": Outcome.DUPLICATE.value})
    return value or 0.0


async def delivered(js) -> int:
    """Messages the durable live consumer has delivered since it was (re)created."""
    return (await js.consumer_info(EVENTS_STREAM, DURABLE)).delivered.consumer_seq


def publishing_during_the_rebuild(runner: ProjectionRunner, js, events: list[EventEnvelope]) -> None:
    """Publish `events` while the rebuild applies its first batch (they land after the replay's end)."""
    apply, sent = runner._apply, []

    async def apply_then_publish(schema, batch):
        if not sent:
            sent.append(True)
            await publish(js, events)
        return await apply(schema, batch)

    runner._apply = apply_then_publish


@contextlib.asynccontextmanager
async def following(runner: ProjectionRunner) -> AsyncIterator[None]:
    """The runner running (building at start if needed, then following) for the block's duration."""
    task = asyncio.create_task(runner.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_start_up_rebuild_hands_over_to_the_live_consumer_without_a_second_pass(runner, nc):
    js = nc.jetstream()
    events = envelopes(streams=STREAMS, per_stream=VERSIONS)
    await publish(js, by_version(events, 1, 8))
    publishing_during_the_rebuild(runner, js, by_version(events, 9, 10))
    dup_before = duplicates()
    async with following(runner):  # no read models yet: a rebuild at start, then the live consumer
        await eventually(lambda: applied_versions(runner, STREAMS * 10))
        assert runner.follower.repositioned == 0  # there was no consumer to move: created after the rebuild
        assert await delivered(js) == 0  # every event so far came from the rebuild; none delivered again

        await publish(js, by_version(events, 11, 12))  # the live consumer takes what comes after
        await eventually(lambda: applied_versions(runner, STREAMS * VERSIONS))
        assert await delivered(js) == STREAMS * 2
        assert duplicates() == dup_before
        assert [r[2] for r in await rows(runner)] == [VERSIONS] * STREAMS  # each event applied exactly once


async def test_rebuild_moves_a_lagging_consumer_past_the_rebuilt_events(runner, nc):
    js = nc.jetstream()
    events = envelopes(streams=STREAMS, per_stream=VERSIONS)
    await publish(js, by_version(events, 1, 8))
    await runner.follower.ensure_consumer()  # a durable consumer that has acked nothing yet (far behind)
    publishing_during_the_rebuild(runner, js, by_version(events, 9, 10))
    await runner.rebuild()  # as `huimin rebuild` does, while the live consumer lags
    dup_before = duplicates()
    async with following(runner):
        await eventually(lambda: applied_versions(runner, STREAMS * 10))
        await publish(js, by_version(events, 11, 12))
        await eventually(lambda: applied_versions(runner, STREAMS * VERSIONS))
        assert runner.follower.repositioned == 1
        assert await delivered(js) == STREAMS * 2  # only the events after the rebuild
        assert duplicates() == dup_before
        assert [r[2] for r in await rows(runner)] == [VERSIONS] * STREAMS


async def test_rebuild_while_following_misses_nothing_published_meanwhile(runner, nc):
    js = nc.jetstream()
    events = envelopes(streams=STREAMS, per_stream=VERSIONS)
    await publish(js, by_version(events, 1, 4))
    async with following(runner):
        await eventually(lambda: applied_versions(runner, STREAMS * 4))
        dup_before = duplicates()
        publishing_during_the_rebuild(runner, js, by_version(events, 5, 8))
        await runner.rebuild()
        await publish(js, by_version(events, 9, VERSIONS))
        await eventually(lambda: applied_versions(runner, STREAMS * VERSIONS))
        assert [r[2] for r in await rows(runner)] == [VERSIONS] * STREAMS
        # At most the events published during the rebuild reach the live consumer twice (it may have
        # applied some to the old tables before the swap); never the whole stream.
        assert duplicates() - dup_before <= STREAMS * 4
