"""The projection runner: a durable pull consumer on HUIMIN_EVENTS feeding the read models.

Each fetched batch is applied in one transaction together with the per-stream versions that
make redelivery harmless; messages are acked after the commit. A rebuild replays the stream
into a fresh schema and swaps it in, so queries keep being answered meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from services.projection.applier import BatchApplier, Delivery, Outcome
from services.projection.readmodel import RUNNER_DDL, ReadModel, ddl_fingerprint
from shared.config import Settings
from shared.contracts.base import EventRegistry
from shared.db import check_schema_name, connect
from shared.logging import get_logger
from shared.subjects import EVENTS_STREAM, events_wildcard

log = get_logger(__name__)

LIVE_SCHEMA = "projection"
NEXT_SCHEMA = "projection_next"
OLD_SCHEMA = "projection_old"
DURABLE = "projection"


def _delivery(msg: Msg) -> Delivery:
    return Delivery(msg.data, msg.subject, msg.metadata.sequence.stream if msg.reply else None)


class ProjectionRunner:
    """Keeps the read models in the `projection` schema up to date with HUIMIN_EVENTS."""

    def __init__(self, pool: asyncpg.Pool, js: JetStreamContext, settings: Settings,
                 models: list[ReadModel], registry: EventRegistry, dsn: str) -> None:
        self.pool, self.js, self.settings, self.dsn = pool, js, settings, dsn
        self.models = models
        self.applier = BatchApplier(models, registry)
        self.fingerprint = ddl_fingerprint(models)
        # Held while a batch is applied; a rebuild holds it for its final catch-up and swap.
        self.lock = asyncio.Lock()
        self.applied = 0
        self.active = False

    def consumer_config(self) -> ConsumerConfig:
        """The durable consumer as declared; a live one that differs is recreated."""
        return ConsumerConfig(
            durable_name=DURABLE,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            filter_subject=events_wildcard(),
            ack_wait=30,
            max_deliver=-1,
            max_ack_pending=10_000,
        )

    async def ensure_consumer(self) -> None:
        """Create the durable consumer, or replace a live one whose config drifted from the code."""
        desired = self.consumer_config()
        try:
            live = (await self.js.consumer_info(EVENTS_STREAM, DURABLE)).config
        except nats.js.errors.NotFoundError:
            live = None
        if live is not None and (live.filter_subject, live.ack_policy, live.deliver_policy) != (
            desired.filter_subject, desired.ack_policy, desired.deliver_policy
        ):
            # Safe: appliers are idempotent, the new consumer replays from the start.
            log.warning("durable consumer config drifted; recreating", live=str(live))
            await self.js.delete_consumer(EVENTS_STREAM, DURABLE)
            live = None
        if live is None:
            await self.js.add_consumer(EVENTS_STREAM, desired)

    async def live_fingerprint(self) -> str | None:
        """The table-definition fingerprint the live read models were built with."""
        try:
            return await self.pool.fetchval(f"SELECT value FROM {LIVE_SCHEMA}.model_meta WHERE key = 'ddl'")
        except asyncpg.UndefinedTableError:
            return None

    async def run(self) -> None:
        """Follow the stream until cancelled, starting over after any failure (e.g. PostgreSQL restarts)."""
        while True:
            try:
                await self._run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (the runner must outlive any failure)
                log.warning("projection runner failed; restarting", error=repr(exc))
                await asyncio.sleep(self.settings.projection_nak_delay_s)

    async def _run_once(self) -> None:
        """Be the one active runner (advisory lock), build the models if needed, then follow the stream."""
        lock_conn = await connect(self.settings, self.dsn, LIVE_SCHEMA, "projection-runner-lock")
        try:
            while not await lock_conn.fetchval("SELECT pg_try_advisory_lock(hashtext('projection.runner'))"):
                await asyncio.sleep(1)  # another instance runs the projections
            self.active = True
            if await self.live_fingerprint() != self.fingerprint:
                log.info("read model tables changed or missing; rebuilding")
                await self.rebuild()
            await self.ensure_consumer()
            psub = await self.js.pull_subscribe_bind(DURABLE, stream=EVENTS_STREAM)
            try:
                while True:
                    await self._follow_once(psub)
            finally:
                with contextlib.suppress(Exception):
                    await psub.unsubscribe()  # else closing the shared connection waits on its drain
        finally:
            self.active = False
            with contextlib.suppress(Exception):
                await asyncio.wait_for(lock_conn.close(), 2)

    async def _follow_once(self, psub: JetStreamContext.PullSubscription) -> None:
        try:
            msgs = await psub.fetch(self.settings.projection_batch_size, timeout=self.settings.projection_fetch_timeout_s)
        except nats.errors.TimeoutError:
            return
        except nats.errors.Error as exc:
            log.warning("fetch failed; retrying", error=repr(exc))
            await asyncio.sleep(1)
            return
        try:
            async with self.lock:
                outcomes = await self._apply(LIVE_SCHEMA, [_delivery(m) for m in msgs])
        except Exception as exc:  # noqa: BLE001 (poison events are handled per event; this is the database)
            # Not term: the batch comes back once the database does (REFERENCE.md: ack policy).
            log.warning("batch not applied; redelivering later", error=repr(exc), count=len(msgs))
            for m in msgs:
                await m.nak(delay=self.settings.projection_nak_delay_s)
            return
        for m, outcome in zip(msgs, outcomes, strict=True):
            if outcome is Outcome.GAP:
                await m.nak(delay=self.settings.projection_gap_delay_s)
            else:
                await m.ack()
        self.applied += sum(o is Outcome.APPLIED for o in outcomes)

    async def _apply(self, schema: str, batch: list[Delivery]) -> list[Outcome]:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(f"SET LOCAL search_path TO {check_schema_name(schema)}")
            return await self.applier.apply(conn, batch)

    async def rebuild(self) -> dict[str, Any]:
        """Replay HUIMIN_EVENTS into fresh tables and swap them in for the live ones."""
        await self._create_schema(NEXT_SCHEMA)
        end = (await self.js.stream_info(EVENTS_STREAM)).state.last_seq
        replayed = await self._replay(NEXT_SCHEMA, 1, end)
        async with self.lock:  # the live runner pauses for the catch-up and the swap
            final = (await self.js.stream_info(EVENTS_STREAM)).state.last_seq
            replayed += await self._replay(NEXT_SCHEMA, end + 1, final)
            await self._swap()
        await self.pool.expire_connections()  # cached statements point at the old tables
        log.info("read models rebuilt", events=replayed, last_seq=final)
        return {"events": replayed, "last_seq": final}

    async def _create_schema(self, schema: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
            await conn.execute(f"SET LOCAL search_path TO {schema}")
            await conn.execute(RUNNER_DDL)
            for model in self.models:
                await conn.execute(model.ddl)
            await conn.execute("INSERT INTO model_meta (key, value) VALUES ('ddl', $1)", self.fingerprint)

    async def _replay(self, schema: str, start: int, end: int) -> int:
        if end < start:
            return 0
        sub = await self.js.pull_subscribe(
            events_wildcard(),
            stream=EVENTS_STREAM,
            config=ConsumerConfig(
                ack_policy=AckPolicy.NONE,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=start,
                inactive_threshold=60,
                mem_storage=True,
            ),
        )
        count, held = 0, []
        try:
            seq = start - 1
            while seq < end:
                try:
                    msgs = await sub.fetch(self.settings.projection_batch_size, timeout=5)
                except nats.errors.TimeoutError:
                    log.warning("replay ended early", reached=seq, expected=end)
                    break
                batch = [d for d in map(_delivery, msgs) if d.seq is not None and d.seq <= end]
                seq = msgs[-1].metadata.sequence.stream
                outcomes = await self._apply(schema, held + batch)
                held = [d for d, o in zip(held + batch, outcomes, strict=True) if o is Outcome.GAP]
                count += sum(o is Outcome.APPLIED for o in outcomes)
            if held:
                # Versions missing from the stream: the write service must re-publish them.
                log.error("events left waiting for missing versions", count=len(held))
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        return count

    async def _swap(self) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(f"DROP SCHEMA IF EXISTS {OLD_SCHEMA} CASCADE")
            if await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", LIVE_SCHEMA):
                await conn.execute(f"ALTER SCHEMA {LIVE_SCHEMA} RENAME TO {OLD_SCHEMA}")
            await conn.execute(f"ALTER SCHEMA {NEXT_SCHEMA} RENAME TO {LIVE_SCHEMA}")
            await conn.execute(f"DROP SCHEMA IF EXISTS {OLD_SCHEMA} CASCADE")

    async def lag(self) -> int | None:
        """Events in the stream not yet acked by the durable consumer."""
        try:
            info = await self.js.consumer_info(EVENTS_STREAM, DURABLE)
        except Exception:  # noqa: BLE001 (a metric, not a failure)
            return None
        return info.num_pending + info.num_ack_pending
