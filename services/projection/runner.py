"""The projection runner: follows HUIMIN_EVENTS into the `projection` schema, and rebuilds it.

A rebuild replays the stream into a fresh schema and swaps it in, so queries keep being
answered meanwhile; a change of table definitions triggers one at start.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
import nats.errors
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from shared.config import Settings
from shared.consumer import Delivery, EventFollower, Outcome, delivery_of, stream_seq
from shared.contracts.base import EventRegistry
from shared.errors import Conflict
from shared.logging import get_logger
from shared.readmodel import CONSUMER_DDL, ReadModel, ddl_fingerprint
from shared.subjects import EVENTS_STREAM, events_wildcard

log = get_logger(__name__)

LIVE_SCHEMA = "projection"
NEXT_SCHEMA = "projection_next"
OLD_SCHEMA = "projection_old"
DURABLE = "projection"


class ProjectionRunner:
    """Keeps the read models in the `projection` schema up to date with HUIMIN_EVENTS."""

    def __init__(self, pool: asyncpg.Pool, js: JetStreamContext, settings: Settings,
                 models: list[ReadModel], registry: EventRegistry, dsn: str) -> None:
        self.pool, self.js, self.settings = pool, js, settings
        self.models = models
        self.fingerprint = ddl_fingerprint(models)
        self._rebuilding = asyncio.Lock()  # a second rebuild would drop the first one's schema under it
        self.follower = EventFollower(
            pool=pool, js=js, settings=settings, models=models, registry=registry, durable=DURABLE,
            subjects=[events_wildcard()], schema=LIVE_SCHEMA, dsn=dsn, on_active=self._build_if_needed,
            linger_s=settings.projection_linger_s,
        )

    @property
    def active(self) -> bool:
        """Whether this instance is the one applying events."""
        return self.follower.active

    async def run(self) -> None:
        """Follow the stream until cancelled (one active instance; others stand by)."""
        await self.follower.run()

    async def lag(self) -> int | None:
        """Events not yet applied."""
        return await self.follower.lag()

    async def _apply(self, schema: str, batch: list[Any]) -> list[Outcome]:
        # Not durable: the schema being built is thrown away unless the (durable) swap commits.
        return await self.follower.apply(schema, batch, durable=False)

    async def live_fingerprint(self) -> str | None:
        """The table-definition fingerprint the live read models were built with."""
        try:
            return await self.pool.fetchval(f"SELECT value FROM {LIVE_SCHEMA}.model_meta WHERE key = 'ddl'")
        except asyncpg.UndefinedTableError:
            return None

    async def _build_if_needed(self) -> None:
        if await self.live_fingerprint() != self.fingerprint:
            log.info("read model tables changed or missing; rebuilding")
            await self.rebuild()

    async def rebuild(self) -> dict[str, Any]:
        """Replay HUIMIN_EVENTS into fresh tables and swap them in for the live ones (one at a time)."""
        if self._rebuilding.locked():
            raise Conflict("读模型正在重建 / a rebuild is already running")
        async with self._rebuilding:
            return await self._rebuild()

    async def _rebuild(self) -> dict[str, Any]:
        await self._create_schema(NEXT_SCHEMA)
        applier = self.follower.applier
        before = applier.statements, applier.reads, applier.round_trips
        end = (await self.js.stream_info(EVENTS_STREAM)).state.last_seq
        replayed, passed = await self._replay(NEXT_SCHEMA, 1, end)
        async with self.follower.lock:  # the live follower pauses for the catch-up and the swap
            final = (await self.js.stream_info(EVENTS_STREAM)).state.last_seq
            more, passed_later = await self._replay(NEXT_SCHEMA, end + 1, final)
            replayed += more
            passed = passed_later if passed == end else passed
            await self._swap()
            # The new tables hold every event up to `passed`: the live consumer goes on after it, not
            # through the whole stream again as duplicates.
            self.follower.resume_after(passed)
        await self.pool.expire_connections()  # cached statements point at the old tables
        # Round trips against statements and reads: how well the appliers' writes grouped (issue #10).
        log.info("read models rebuilt", events=replayed, last_seq=final, statements=applier.statements - before[0],
                 reads=applier.reads - before[1], round_trips=applier.round_trips - before[2])
        return {"events": replayed, "last_seq": final}

    async def _create_schema(self, schema: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
            await conn.execute(f"SET LOCAL search_path TO {schema}")
            await conn.execute(CONSUMER_DDL)
            for model in self.models:
                if model.ddl:
                    await conn.execute(model.ddl)
            await conn.execute("INSERT INTO model_meta (key, value) VALUES ('ddl', $1)", self.fingerprint)

    async def _replay(self, schema: str, start: int, end: int) -> tuple[int, int]:
        """Apply stream sequences start..end to `schema`: the events applied, and the sequence up to
        which every event was passed (below `end` if the replay ended early or an event waits for a gap)."""
        if end < start:
            return 0, end
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

        size = self.settings.projection_rebuild_batch_size

        async def fetch_and_decode() -> tuple[list[Delivery], int]:
            msgs = await sub.fetch(size, timeout=5)
            batch = [d for d in map(delivery_of, msgs) if d.seq is not None and d.seq <= end]
            return await self.follower.applier.prepare(batch), stream_seq(msgs[-1])

        def fetch() -> asyncio.Future[tuple[list[Delivery], int]]:
            # The next batch travels from NATS and is decoded while the current one waits on the database.
            return asyncio.ensure_future(fetch_and_decode())

        count, held = 0, []
        seq, fetching = start - 1, fetch()
        try:
            while seq < end:
                try:
                    batch, seq = await fetching
                except (nats.errors.TimeoutError, TimeoutError):  # nats-py 2.16 may raise the builtin one
                    log.warning("replay ended early", reached=seq, expected=end)
                    fetching = None
                    break
                fetching = fetch() if seq < end else None
                outcomes = await self._apply(schema, held + batch)
                held = [d for d, o in zip(held + batch, outcomes, strict=True) if o is Outcome.GAP]
                count += sum(o is Outcome.APPLIED for o in outcomes)
            if held:
                # Versions missing from the stream: the write service must re-publish them.
                log.error("events left waiting for missing versions", count=len(held))
        finally:
            if fetching is not None:  # a prefetch nobody will use (the replay ended or failed)
                fetching.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await fetching
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        # The live consumer must deliver again from the first event not passed here.
        passed = min(seq, end)
        if held:
            passed = min(passed, min(d.seq for d in held if d.seq is not None) - 1)
        return count, passed

    async def _swap(self) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(f"DROP SCHEMA IF EXISTS {OLD_SCHEMA} CASCADE")
            if await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", LIVE_SCHEMA):
                await conn.execute(f"ALTER SCHEMA {LIVE_SCHEMA} RENAME TO {OLD_SCHEMA}")
            await conn.execute(f"ALTER SCHEMA {NEXT_SCHEMA} RENAME TO {LIVE_SCHEMA}")
            await conn.execute(f"DROP SCHEMA IF EXISTS {OLD_SCHEMA} CASCADE")
