"""Outbox relay: crash and restart mid-way; every event reaches JetStream once, in order per aggregate."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import asyncpg
import nats
import pytest

from shared.eventstore.store import Checkpoint, NewEvent
from shared.outbox import RELAY_CURSOR, OutboxRelay
from shared.streams import ensure_streams
from shared.subjects import EVENTS_STREAM
from tests.conftest import eventually
from tests.integration.conftest import SCHEMA
from tests.integration.jetstream import read_all
from tests.integration.test_eventstore import Noted

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
STREAMS, PER_STREAM = 5, 40


async def write_events(store, rounds: range = range(PER_STREAM // 4)) -> None:
    for round_ in rounds:
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

    envelopes = await assert_each_event_once_in_order(nc, store, PER_STREAM)
    assert len(envelopes) == total


async def assert_each_event_once_in_order(nc, store, per_stream: int) -> list[dict]:
    """Every stored event is in the stream exactly once, in version order per aggregate; nothing else is."""
    msgs = await read_all(nc, EVENTS_STREAM)
    envelopes = [json.loads(m.data) for m in msgs]
    ids = [e["event_id"] for e in envelopes]
    stored = [str(s.envelope.event_id) for s in await store.read_after(Checkpoint(), 100_000)]
    assert len(set(ids)) == len(ids), "duplicates removed by Nats-Msg-Id"
    assert sorted(ids) == sorted(stored), "every stored event published, nothing else"
    for s in range(STREAMS):
        versions = [e["version"] for e in envelopes if e["stream_id"] == f"agg-{s}"]
        assert versions == list(range(1, per_stream + 1))
    assert all(m.headers["Nats-Msg-Id"] == e["event_id"] for m, e in zip(msgs, envelopes, strict=True))
    assert msgs[0].subject == f"huimin.evt.testsvc.{envelopes[0]['stream_id']}.TestNoted"
    return envelopes


async def test_checkpoint_lost_in_a_database_crash_only_republishes_duplicates(settings, store, nc):
    """The relay's checkpoint commits without a WAL flush (shared/outbox.py): a PostgreSQL crash can
    take it back to an earlier position. The relay then publishes those events again; the stream's
    duplicate window drops them, and events committed meanwhile still go out once, in order."""
    settings = settings.model_copy(update={"relay_batch_size": 16})
    js = nc.jetstream()
    await ensure_streams(js, settings)
    await write_events(store, range(5))  # 20 events per aggregate
    first = make_relay(settings, store, js)
    task = asyncio.create_task(first.run())
    await eventually(lambda: _caught_up(store))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert first.published == STREAMS * 20

    # What a crash losing the last checkpoints looks like: the cursor back after event 30 of 100.
    earlier = (await store.read_after(Checkpoint(), 30))[-1].checkpoint
    await store.save_cursor(RELAY_CURSOR, earlier)
    await write_events(store, range(5, PER_STREAM // 4))  # commands go on while it is down
    second = make_relay(settings, store, js)
    task = asyncio.create_task(second.run())
    await eventually(lambda: _caught_up(store))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert second.published == STREAMS * PER_STREAM - 30, "70 published again, 100 new"

    envelopes = await assert_each_event_once_in_order(nc, store, PER_STREAM)
    assert len(envelopes) == STREAMS * PER_STREAM


@pytest.mark.parametrize("durable", [False, True])
async def test_checkpoint_waits_for_the_wal_flush_only_when_configured(settings, store, nc, monkeypatch, durable):
    """By default the checkpoint commits with synchronous_commit off; HUIMIN_RELAY_DURABLE_CHECKPOINT turns it on."""
    settings = settings.model_copy(update={"relay_durable_checkpoint": durable})
    async with store.pool.acquire() as conn:  # the test server runs without flushes; this database as in production
        await conn.execute("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = on', "
                           "current_database()); END $$")
    js = nc.jetstream()
    await ensure_streams(js, settings)
    seen: list[str] = []
    real_save = store.save_cursor

    async def save_and_note_commit_mode(name, checkpoint, conn=None):
        seen.append(await conn.fetchval("SHOW synchronous_commit"))
        return await real_save(name, checkpoint, conn)

    monkeypatch.setattr(store, "save_cursor", save_and_note_commit_mode)
    relay = make_relay(settings, store, js)
    task = asyncio.create_task(relay.run())
    await store.append("one", 0, [NewEvent(Noted(text="x"), NOW)], actor="t", correlation_id="c", recorded_at=NOW)
    await eventually(lambda: asyncio.sleep(0, relay.published == 1))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert seen == ["on" if durable else "off"]


async def test_event_held_back_by_an_open_transaction_goes_out_when_it_ends(settings, store, nc):
    """An event committed while an older transaction is open waits (read_after's horizon); that
    transaction's end sends no NOTIFY, yet the relay publishes the event without waiting for its poll."""
    settings = settings.model_copy(update={"relay_poll_interval_s": 60.0})
    js = nc.jetstream()
    await ensure_streams(js, settings)
    relay = make_relay(settings, store, js)
    task = asyncio.create_task(relay.run())
    await eventually(lambda: asyncio.sleep(0, relay.active))
    older = await asyncpg.connect(settings.database_url)
    try:
        tx = older.transaction()
        await tx.start()
        await older.fetchval("SELECT pg_current_xact_id()")  # an xid older than the event's
        await store.append("held", 0, [NewEvent(Noted(text="x"), NOW)], actor="t", correlation_id="c",
                           recorded_at=NOW)
        await asyncio.sleep(0.5)
        assert relay.published == 0, "not readable while the older transaction is open"
        await tx.rollback()
        await eventually(lambda: asyncio.sleep(0, relay.published == 1), timeout=10)
    finally:
        await older.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert len(await read_all(nc, EVENTS_STREAM)) == 1


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
