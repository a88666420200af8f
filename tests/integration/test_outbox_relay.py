"""Outbox relay: crash and restart mid-way; every event reaches JetStream once, in order per aggregate."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import nats
import pytest

from shared.eventstore.store import NewEvent
from shared.outbox import RELAY_CURSOR, OutboxRelay
from shared.streams import ensure_streams
from shared.subjects import EVENTS_STREAM
from tests.conftest import eventually
from tests.integration.conftest import SCHEMA
from tests.integration.jetstream import read_all
from tests.integration.test_eventstore import Noted

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
STREAMS, PER_STREAM = 5, 40


async def write_events(store) -> None:
    for round_ in range(PER_STREAM // 4):
        for s in range(STREAMS):
            events = [NewEvent(Noted(text=f"s{s}-{round_ * 4 + i}"), NOW) for i in range(4)]
            await store.append(f"agg-{s}", round_ * 4, events, actor="t", correlation_id="c", recorded_at=NOW)


def make_relay(settings, store, js) -> OutboxRelay:
    return OutboxRelay(service="testsvc", schema=SCHEMA, dsn=settings.database_url, store=store, js=js,
                       settings=settings)


async def test_relay_crash_and_restart_delivers_every_event_once_in_order(settings, store, nc, monkeypatch):
    settings = settings.model_copy(update={"relay_batch_size": 16})
    js = nc.jetstream()
    await ensure_streams(js, settings)
    await write_events(store)
    total = STREAMS * PER_STREAM

    # First life: dies after the PubAcks of its third batch, before moving the checkpoint.
    saves = 0
    real_save = store.save_cursor

    async def crash_on_third_save(*args, **kwargs):
        nonlocal saves
        saves += 1
        if saves == 3:
            raise RuntimeError("relay killed between PubAck and checkpoint")
        return await real_save(*args, **kwargs)

    monkeypatch.setattr(store, "save_cursor", crash_on_third_save)
    relay = make_relay(settings, store, js)
    with pytest.raises(RuntimeError, match="killed"):
        await relay._run_once()  # one life of the relay, without its own restart loop
    assert relay.published == 32, "two batches checkpointed; the third was published, not checkpointed"

    # A new relay instance takes over from the stored checkpoint and re-publishes the third batch.
    monkeypatch.setattr(store, "save_cursor", real_save)
    relay2 = make_relay(settings, store, js)
    task = asyncio.create_task(relay2.run())
    await eventually(lambda: _caught_up(store))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert relay2.published == total - 32

    msgs = await read_all(nc, EVENTS_STREAM)
    envelopes = [json.loads(m.data) for m in msgs]
    ids = [e["event_id"] for e in envelopes]
    assert len(ids) == total and len(set(ids)) == total, "duplicates removed by Nats-Msg-Id"
    for s in range(STREAMS):
        versions = [e["version"] for e in envelopes if e["stream_id"] == f"agg-{s}"]
        assert versions == list(range(1, PER_STREAM + 1))
    assert all(m.headers["Nats-Msg-Id"] == e["event_id"] for m, e in zip(msgs, envelopes, strict=True))
    assert msgs[0].subject == f"huimin.evt.testsvc.{envelopes[0]['stream_id']}.TestNoted"


async def _caught_up(store) -> bool:
    cursor = await store.load_cursor(RELAY_CURSOR)
    return not await store.read_after(cursor, 1)


async def test_only_one_relay_is_active_per_event_table(settings, store, nc):
    js = nc.jetstream()
    await ensure_streams(js, settings)
    first, second = make_relay(settings, store, js), make_relay(settings, store, js)
    tasks = [asyncio.create_task(first.run()), asyncio.create_task(second.run())]
    await eventually(lambda: asyncio.sleep(0, first.active or second.active))
    await asyncio.sleep(0.5)
    assert first.active != second.active
    standby = second if first.active else first
    for t in tasks:
        if (t is tasks[0]) == (standby is second):
            t.cancel()  # stop the active one: the standby takes over
    await eventually(lambda: asyncio.sleep(0, standby.active), timeout=5)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_relay_waits_for_nats_and_delivers_after_it_returns(settings, store):
    """Events committed while the relay cannot publish are delivered later, none lost."""
    nc = await nats.connect(settings.nats_url)
    js = nc.jetstream()
    await ensure_streams(js, settings)
    await js.delete_stream(EVENTS_STREAM)  # nowhere to publish: every publish fails
    relay = make_relay(settings, store, js)
    task = asyncio.create_task(relay.run())
    await store.append("late", 0, [NewEvent(Noted(text="x"), NOW)], actor="t", correlation_id="c", recorded_at=NOW)
    await asyncio.sleep(1.0)
    assert relay.published == 0
    await ensure_streams(js, settings)
    await eventually(lambda: asyncio.sleep(0, relay.published == 1), timeout=10)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert len(await read_all(nc, EVENTS_STREAM)) == 1
    await nc.close()


pytestmark = pytest.mark.asyncio
