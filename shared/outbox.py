"""Outbox relay: publishes committed events from a service's event table to JetStream.

The event row is its own outbox entry, so an event and its outbox entry always commit in one
transaction. The relay reads with the store's gap-free cursor, publishes with
Nats-Msg-Id = event_id, and moves its checkpoint only after every PubAck of the batch.
One relay is active per event table: it holds an advisory lock on a dedicated connection.

The checkpoint commits without waiting for the WAL flush (synchronous_commit off on the relay's
own connection): it is on every command's path, and a flush there competes with the command's
own. Safe because a checkpoint lost in a PostgreSQL crash is always an older one (the WAL
recovers a prefix), never ahead of what JetStream acknowledged: the relay only publishes again
events that were published at most ~3 × wal_writer_delay (0.6 s by default) before the crash,
and JetStream drops them by Nats-Msg-Id as long as PostgreSQL and the relay are back within the
stream's duplicate window (HUIMIN_EVENTS_DUPLICATE_WINDOW_S, 10 min) of the crash. Consumers stay
idempotent anyway (per-stream versions), so even a later re-publish changes no read model.
HUIMIN_RELAY_DURABLE_CHECKPOINT=1 restores a flushed commit (docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
from nats.js import JetStreamContext

from shared.config import Settings
from shared.contracts.base import EventEnvelope
from shared.eventstore.store import Checkpoint, EventStore
from shared.leader import leadership
from shared.logging import get_logger
from shared.metrics import EVENTS_RELAYED, RELAY_LAG
from shared.subjects import EVENTS_STREAM, event_subject

log = get_logger(__name__)

RELAY_CURSOR = "outbox_relay"
RELAY_LAG_COUNT_CAP = 10_000  # the relay-lag gauge counts unpublished events up to this many
# First wait before reading again events held back by an older open transaction; doubles up to the poll interval.
HELD_BACK_FIRST_RETRY_S = 0.002


def encode_envelope(envelope: EventEnvelope) -> bytes:
    """The wire form of an event: its envelope as JSON."""
    return envelope.model_dump_json().encode()


async def publish_events(js: JetStreamContext, service: str, envelopes: list[EventEnvelope], timeout: float) -> None:
    """Publish events in order with Nats-Msg-Id = event_id and wait for every PubAck."""
    # Pipelined publishes on one connection keep their order on the server.
    futures = [
        await js.publish_async(
            event_subject(service, env.stream_id, env.type),
            encode_envelope(env),
            headers={"Nats-Msg-Id": str(env.event_id)},
            stream=EVENTS_STREAM,
        )
        for env in envelopes
    ]
    async with asyncio.timeout(timeout):  # not wait_for: on 3.11 it can swallow the relay's cancellation
        await asyncio.gather(*futures)


class OutboxRelay:
    """Moves events from one service's event table to HUIMIN_EVENTS, in order, at least once."""

    def __init__(self, *, service: str, schema: str, dsn: str, store: EventStore, js: JetStreamContext,
                 settings: Settings) -> None:
        self.service, self.schema, self.dsn = service, schema, dsn
        self.store, self.js, self.settings = store, js, settings
        self._wake = asyncio.Event()
        self.published = 0  # events published by this instance, for metrics and tests
        self.active = False

    async def run(self) -> None:
        """Run until cancelled: wait for the lock, then relay; reconnect after failures."""
        while True:
            try:
                await self._run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (a relay must outlive any failure)
                self.active = False
                log.warning("outbox relay failed; retrying", error=repr(exc))
                await asyncio.sleep(self.settings.relay_poll_interval_s)

    async def _run_once(self) -> None:
        async with leadership(self.settings, self.dsn, self.schema, "outbox_relay",
                              self.settings.relay_poll_interval_s) as conn:
            self.active = True
            try:
                if not self.settings.relay_durable_checkpoint:
                    # Session-wide on a connection of its own: its only writes are checkpoints (see above).
                    await conn.execute("SET synchronous_commit TO off")
                await conn.add_listener(f"{self.schema}_events", self._on_notify)
                log.info("outbox relay active", schema=self.schema)
                checkpoint = await self.store.load_cursor(RELAY_CURSOR, conn)
                retry = HELD_BACK_FIRST_RETRY_S
                while True:
                    checkpoint, moved = await self._relay_batch(conn, checkpoint)
                    if moved:
                        retry = HELD_BACK_FIRST_RETRY_S
                        if moved < self.settings.relay_batch_size and self.settings.relay_linger_s:
                            # Caught up: let the next few commits gather, one read and publish for them all.
                            await asyncio.sleep(self.settings.relay_linger_s)
                    elif await self._held_back(conn, checkpoint):
                        # Committed, but behind an older transaction still open somewhere (read_after's
                        # horizon): its end sends no NOTIFY, so look again soon instead of at the next poll.
                        await self._sleep(retry)
                        retry = min(retry * 2, self.settings.relay_poll_interval_s)
                    else:
                        await self._sleep(self.settings.relay_poll_interval_s)
            finally:
                self.active = False

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _sleep(self, seconds: float) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that
        # arrives as the wake-up does, and the relay then never stops (service stop hangs).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        self._wake.clear()

    @staticmethod
    async def _held_back(conn: asyncpg.Connection, after: Checkpoint) -> bool:
        """Whether events past the checkpoint are committed but not yet readable (see read_after)."""
        return await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM events WHERE (tx_id, pos) > ($1::text::xid8, $2::bigint))",
            str(after.tx_id), after.pos)

    @staticmethod
    async def _unpublished(conn: asyncpg.Connection, after: Checkpoint) -> int:
        # Capped: counting the whole backlog after every batch made draining a large one quadratic
        # (docs/PERFORMANCE.md); a gauge at the cap reads "this many or more".
        return await conn.fetchval(
            "SELECT count(*) FROM (SELECT 1 FROM events WHERE (tx_id, pos) > ($1::text::xid8, $2::bigint) LIMIT $3) b",
            str(after.tx_id), after.pos, RELAY_LAG_COUNT_CAP)

    async def _relay_batch(self, conn: asyncpg.Connection, checkpoint: Checkpoint) -> tuple[Checkpoint, int]:
        """Publish the next batch; the new checkpoint and how many events moved."""
        batch = await self.store.read_after(checkpoint, self.settings.relay_batch_size, conn)
        if not batch:
            RELAY_LAG.set(0)
            return checkpoint, 0
        await publish_events(self.js, self.service, [s.envelope for s in batch], self.settings.relay_puback_timeout_s)
        last = batch[-1].checkpoint
        await self.store.save_cursor(RELAY_CURSOR, last, conn)
        self.published += len(batch)
        EVENTS_RELAYED.inc(len(batch))
        # A short batch means nothing committed is left behind; count only when the batch was full.
        full = len(batch) >= self.settings.relay_batch_size
        RELAY_LAG.set(await self._unpublished(conn, last) if full else 0)
        log.debug("events relayed", count=len(batch), pos=last.pos)
        return last, len(batch)
