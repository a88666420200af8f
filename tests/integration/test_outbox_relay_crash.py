"""Outbox relay across a real PostgreSQL crash: its unflushed checkpoint is lost, nothing else.

The relay's checkpoint commits with synchronous_commit off (shared/outbox.py). Here PostgreSQL
(fsync on, as in production) is crashed with an immediate shutdown right after the relay caught
up, while the checkpoint's commit is still in the WAL buffers; after crash recovery the
checkpoint is an earlier one, and the relay publishes those events again: JetStream's duplicate
window drops them, and every event stored is in the stream exactly once, in order.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from shared.config import Settings
from shared.contracts.base import registry
from shared.db import create_pool
from shared.eventstore.migrations import EVENTSTORE_MIGRATIONS, apply_migrations
from shared.eventstore.store import Checkpoint, EventStore
from shared.outbox import RELAY_CURSOR
from shared.runtime.embedded import EmbeddedPostgres
from shared.runtime.processes import free_port, stop
from shared.streams import ensure_streams
from tests.conftest import eventually
from tests.integration.conftest import SCHEMA
from tests.integration.test_outbox_relay import (
    PER_STREAM,
    STREAMS,
    _caught_up,
    assert_each_event_once_in_order,
    make_relay,
    write_events,
)

# The WAL writer flushes a partial WAL page at most this often (default 200 ms): commits made with
# synchronous_commit off stay in memory up to that long unless something else flushes the WAL. No
# standby snapshots (wal_level minimal) and no autovacuum, which would flush it sooner.
QUIET_WAL = {"wal_writer_delay": "5s", "wal_level": "minimal", "max_wal_senders": "0", "autovacuum": "off"}


@asynccontextmanager
async def event_store(url: str) -> AsyncIterator[EventStore]:
    settings = Settings(database_url=url)
    pool = await create_pool(settings, url, SCHEMA, "tests")
    async with pool.acquire() as conn:
        await apply_migrations(conn, EVENTSTORE_MIGRATIONS)
    try:
        yield EventStore(pool, registry)
    finally:
        pool.terminate()


async def wal_writer_just_flushed(store: EventStore) -> None:
    """Make an unflushed commit and wait until the WAL writer flushes it: it then waits its delay."""
    async with store.pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute("SET LOCAL synchronous_commit TO off")
            await conn.execute("INSERT INTO event_cursors (name, tx_id, pos) VALUES ('probe', '0', 0)")
        lsn = await conn.fetchval("SELECT pg_current_wal_insert_lsn()::text")
        await eventually(lambda: conn.fetchval("SELECT pg_current_wal_flush_lsn() >= $1::text::pg_lsn", lsn),
                         timeout=15)


async def test_checkpoint_lost_in_a_postgres_crash_republishes_only_duplicates(nats_url, nc, tmp_path):
    pg = EmbeddedPostgres(tmp_path / "pg", port=free_port()).start()
    try:
        admin = await asyncpg.connect(pg.url)
        for key, value in QUIET_WAL.items():
            await admin.execute(f"ALTER SYSTEM SET {key} = '{value}'")
        await admin.close()
        pg.stop()
        pg.start()
        settings = Settings(nats_url=nats_url, database_url=pg.url, log_level="warning",
                            relay_poll_interval_s=0.2, relay_batch_size=8)
        js = nc.jetstream()
        await ensure_streams(js, settings)

        async with event_store(pg.url) as store:
            half = PER_STREAM // 8
            await write_events(store, range(half))  # 5 aggregates x 20 events, flushed commits
            await wal_writer_just_flushed(store)
            relay = make_relay(settings, store, js)
            task = asyncio.create_task(relay.run())
            await eventually(lambda: _caught_up(store))
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            assert relay.published == STREAMS * half * 4
            before = await store.load_cursor(RELAY_CURSOR)
            stop(pg.proc, signal.SIGQUIT)  # immediate shutdown: no WAL flush, crash recovery on start
            pg.proc = None
        pg.start()

        async with event_store(pg.url) as store:
            after = await store.load_cursor(RELAY_CURSOR)
            assert after < before, "the crash took the relay's unflushed checkpoint back"
            await write_events(store, range(half, PER_STREAM // 4))  # 100 events committed after the crash
            again = len(await store.read_after(after, 10_000))
            assert again > STREAMS * (PER_STREAM - half * 4), "some events are to be published a second time"
            relay = make_relay(settings, store, js)
            task = asyncio.create_task(relay.run())
            await eventually(lambda: _caught_up(store))
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            assert relay.published == again, "published again what the lost checkpoint covered, and the new ones"
            envelopes = await assert_each_event_once_in_order(nc, store, PER_STREAM)
            assert len(envelopes) == STREAMS * PER_STREAM
            assert len(await store.read_after(Checkpoint(), 10_000)) == STREAMS * PER_STREAM
    finally:
        pg.stop()


pytestmark = pytest.mark.asyncio
