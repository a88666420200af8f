"""Event consumers: apply batches of event messages to tables in one transaction, idempotently, in order.

Used by the projection service and by write services that keep their own copy of another
service's events (they never call each other). Per-stream versions stored with the tables make a
redelivered or duplicated event harmless; a gap waits for the missing version; a poison event is
dead-lettered and the rest flows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

import asyncpg
import nats.errors
import nats.js.errors
import pydantic
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from shared.config import Settings
from shared.contracts.base import EventEnvelope, EventRegistry
from shared.db import TRANSIENT_DB_ERRORS, check_schema_name
from shared.leader import leadership
from shared.logging import get_logger
from shared.metrics import CONSUMER_LAG, CONSUMER_LAST_APPLIED, EVENTS_CONSUMED
from shared.pipeline import BufferedConnection, TableIndex
from shared.readmodel import ANY_EVENT, CONSUMER_DDL, Apply, ReadModel
from shared.subjects import EVENTS_STREAM

log = get_logger(__name__)


class Outcome(Enum):
    """What became of one message: ack all but GAP, which waits for the missing version."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    DEAD = "dead"
    GAP = "gap"


@dataclass(frozen=True)
class Delivery:
    """One event message as delivered: raw bytes, subject, stream sequence."""

    data: bytes
    subject: str
    seq: int | None


class BatchApplier:
    """Applies deliveries to every read model; the caller owns the transaction."""

    def __init__(self, models: list[ReadModel], registry: EventRegistry) -> None:
        self.models, self.registry = models, registry
        self._any_appliers = {m.appliers[ANY_EVENT] for m in models if ANY_EVENT in m.appliers}
        # Appliers' writes are queued and sent in groups; the tables let unrelated groups pass each other.
        self.tables = TableIndex.from_ddl(CONSUMER_DDL, *(m.ddl for m in models))
        # Statements and reads the appliers issued, and the round trips they took (how well they group).
        self.statements = self.reads = self.round_trips = 0

    async def apply(self, conn: asyncpg.Connection, batch: list[Delivery], *, isolate: bool = True) -> list[Outcome]:
        """Apply a batch inside the caller's transaction; transient database errors propagate.

        With `isolate`, each event runs in a savepoint so a poison event undoes only itself;
        without, each read model takes the whole batch in turn (its writes go out in long runs
        of the same statement) and any error fails the batch whole (the caller then retries it
        isolated).
        """
        envelopes: list[EventEnvelope | None] = []
        for d in batch:
            try:
                envelopes.append(EventEnvelope.model_validate_json(d.data))
            except pydantic.ValidationError:
                envelopes.append(None)
        streams = list({e.stream_id for e in envelopes if e is not None})
        rows = await conn.fetch("SELECT stream_id, version FROM stream_versions WHERE stream_id = ANY($1::text[])",
                                streams)
        versions = {r["stream_id"]: r["version"] for r in rows}
        moved: set[str] = set()
        if isolate:
            outcomes = [await self._apply_one(conn, d, env, versions, moved)
                        for d, env in zip(batch, envelopes, strict=True)]
        else:
            outcomes = await self._apply_by_model(conn, batch, envelopes, versions, moved)
        if moved:
            await conn.execute(
                """INSERT INTO stream_versions (stream_id, version)
                   SELECT * FROM unnest($1::text[], $2::int[])
                   ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version""",
                list(moved), [versions[s] for s in moved],
            )
        return outcomes

    @staticmethod
    def _admit(env: EventEnvelope, versions: dict[str, int]) -> Outcome:
        """APPLIED if `env` is its stream's next version, else DUPLICATE or GAP."""
        current = versions.get(env.stream_id, 0)
        if env.version <= current:
            return Outcome.DUPLICATE
        if env.version > current + 1:
            log.warning("event version gap; waiting for the missing event", stream_id=env.stream_id,
                        version=env.version, applied=current)
            return Outcome.GAP
        return Outcome.APPLIED

    def _appliers(self, env: EventEnvelope) -> list[Apply]:
        return [a for m in self.models if (a := m.appliers.get(env.type) or m.appliers.get(ANY_EVENT))]

    def _decode(self, env: EventEnvelope, appliers: list[Apply]) -> Any:
        """The typed event, once for every read model (None for a type only catch-all appliers see)."""
        event = self.registry.decode_envelope(env) if self.registry.knows(env.type) else None
        if event is None and any(a not in self._any_appliers for a in appliers):
            self.registry.decode_envelope(env)  # raises: an event type nobody registered
        return event

    async def _apply_by_model(self, conn: asyncpg.Connection, batch: list[Delivery],
                              envelopes: list[EventEnvelope | None], versions: dict[str, int],
                              moved: set[str]) -> list[Outcome]:
        # Read models share no tables and no applier reads another model's tables, so each model
        # may take the whole batch in turn: only the order within a model (and a stream) matters.
        outcomes: list[Outcome] = []
        todo: list[tuple[EventEnvelope, Any]] = []
        for d, env in zip(batch, envelopes, strict=True):
            if env is None:
                await self._dead_letter(conn, d, None, "unparseable event envelope")
                outcomes.append(Outcome.DEAD)
                continue
            outcome = self._admit(env, versions)
            if outcome is Outcome.APPLIED:
                if appliers := self._appliers(env):
                    todo.append((env, self._decode(env, appliers)))
                versions[env.stream_id] = env.version
                moved.add(env.stream_id)
            outcomes.append(outcome)
        buffered = BufferedConnection(conn, self.tables)
        for model in self.models:
            for env, event in todo:
                if apply := model.appliers.get(env.type) or model.appliers.get(ANY_EVENT):
                    await apply(buffered, env, event)
        await buffered.flush()
        self._count(buffered)
        return outcomes

    async def _apply_one(self, conn: asyncpg.Connection, d: Delivery, env: EventEnvelope | None,
                         versions: dict[str, int], moved: set[str]) -> Outcome:
        if env is None:
            await self._dead_letter(conn, d, None, "unparseable event envelope")
            return Outcome.DEAD
        outcome = self._admit(env, versions)
        if outcome is not Outcome.APPLIED:
            return outcome
        if appliers := self._appliers(env):
            try:
                async with conn.transaction():  # a savepoint: a poison event undoes only itself
                    buffered = BufferedConnection(conn, self.tables)
                    event = self._decode(env, appliers)
                    for apply in appliers:
                        await apply(buffered, env, event)
                    await buffered.flush()  # inside the savepoint: the error is this event's
                    self._count(buffered)
            except TRANSIENT_DB_ERRORS:
                raise
            except Exception as exc:
                log.error("poison event dead-lettered", event_id=str(env.event_id), stream_id=env.stream_id,
                          type=env.type, error=repr(exc))
                await self._dead_letter(conn, d, env, repr(exc))
                outcome = Outcome.DEAD
        # A dead-lettered event still counts as passed, so the stream's later events go on.
        versions[env.stream_id] = env.version
        moved.add(env.stream_id)
        return outcome

    def _count(self, buffered: BufferedConnection) -> None:
        self.statements += buffered.sent_statements
        self.reads += buffered.reads
        self.round_trips += buffered.sent_groups + buffered.reads

    @staticmethod
    async def _dead_letter(conn: asyncpg.Connection, d: Delivery, env: EventEnvelope | None, error: str) -> None:
        await conn.execute(
            """INSERT INTO dead_letters (event_id, stream_seq, subject, error, payload) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT DO NOTHING""",
            # PostgreSQL text cannot hold NUL: store it as U+FFFD, or the poison would block the consumer.
            env.event_id if env else None, d.seq, d.subject, error,
            d.data.decode(errors="replace").replace("\x00", "\ufffd"),
        )


class EventFollower:
    """A durable pull consumer on HUIMIN_EVENTS feeding tables in one schema; one active per durable."""

    def __init__(self, *, pool: asyncpg.Pool, js: JetStreamContext, settings: Settings, models: list[ReadModel],
                 registry: EventRegistry, durable: str, subjects: list[str], schema: str, dsn: str,
                 on_active: Callable[[], Awaitable[None]] | None = None) -> None:
        self.pool, self.js, self.settings, self.dsn = pool, js, settings, dsn
        self.durable, self.subjects, self.schema = durable, subjects, check_schema_name(schema)
        self.applier = BatchApplier(models, registry)
        self.on_active = on_active
        # Held while a batch is applied (a projection rebuild holds it for its catch-up and swap).
        self.lock = asyncio.Lock()
        self.applied = 0
        self.last_recorded_at: datetime | None = None  # latest recorded time of an applied event (read-model lag)
        self.active = False

    def consumer_config(self) -> ConsumerConfig:
        """The durable consumer as declared; a live one that differs is recreated."""
        many = len(self.subjects) > 1
        return ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            filter_subject=None if many else self.subjects[0],
            filter_subjects=self.subjects if many else None,
            ack_wait=self.settings.consumer_ack_wait_s,
            max_deliver=-1,
            max_ack_pending=10_000,
        )

    async def ensure_consumer(self) -> None:
        """Create the durable consumer, or replace a live one whose config drifted from the code."""
        desired = self.consumer_config()
        try:
            live = (await self.js.consumer_info(EVENTS_STREAM, self.durable)).config
        except nats.js.errors.NotFoundError:
            live = None

        def key(c: ConsumerConfig) -> tuple[Any, ...]:
            return (c.filter_subject, sorted(c.filter_subjects or []), c.ack_policy, c.deliver_policy)

        if live is not None and key(live) != key(desired):
            # Safe: appliers are idempotent; the new consumer replays from the start.
            log.warning("durable consumer config drifted; recreating", durable=self.durable, live=str(live))
            await self.js.delete_consumer(EVENTS_STREAM, self.durable)
            live = None
        if live is None:
            await self.js.add_consumer(EVENTS_STREAM, desired)

    async def run(self) -> None:
        """Follow the stream until cancelled, starting over after any failure (e.g. PostgreSQL restarts)."""
        while True:
            try:
                await self._run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (a consumer must outlive any failure)
                log.warning("event follower failed; restarting", durable=self.durable, error=repr(exc))
                await asyncio.sleep(self.settings.projection_nak_delay_s)

    async def _run_once(self) -> None:
        # One instance at a time: parallel consumers on one durable would lose the order.
        async with leadership(self.settings, self.dsn, self.schema, f"follower.{self.durable}"):
            self.active = True
            try:
                if self.on_active:
                    await self.on_active()
                await self.ensure_consumer()
                psub = await self.js.pull_subscribe_bind(self.durable, stream=EVENTS_STREAM)
                try:
                    while True:
                        await self._follow_once(psub)
                finally:
                    with contextlib.suppress(Exception):
                        await psub.unsubscribe()  # else closing the shared connection waits on its drain
            finally:
                self.active = False

    async def _follow_once(self, psub: JetStreamContext.PullSubscription) -> None:
        try:
            msgs = await psub.fetch(self.settings.projection_batch_size, timeout=self.settings.projection_fetch_timeout_s)
        except (nats.errors.TimeoutError, TimeoutError):  # nats-py 2.16 also raises the builtin one (busy loop)
            CONSUMER_LAG.labels(self.durable).set(0)  # nothing left to deliver
            return
        except nats.errors.Error as exc:
            log.warning("fetch failed; retrying", error=repr(exc))
            await asyncio.sleep(1)
            return
        try:
            async with self.lock:
                outcomes = await self.apply(self.schema, [delivery_of(m) for m in msgs])
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
        self._note_recorded([m for m, o in zip(msgs, outcomes, strict=True) if o is Outcome.APPLIED])
        for outcome in outcomes:
            EVENTS_CONSUMED.labels(self.durable, outcome.value).inc()
        if msgs:
            CONSUMER_LAG.labels(self.durable).set(msgs[-1].metadata.num_pending)

    def _note_recorded(self, applied: list[Msg]) -> None:
        for m in applied:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                at = datetime.fromisoformat(json.loads(m.data)["recorded_at"])
                if self.last_recorded_at is None or at > self.last_recorded_at:
                    self.last_recorded_at = at
                    CONSUMER_LAST_APPLIED.labels(self.durable).set(at.timestamp())

    async def apply(self, schema: str, batch: list[Delivery], *, durable: bool = True) -> list[Outcome]:
        """Apply a batch to the tables of `schema` in one transaction (retried event by event on a failure).

        `durable=False` (tables rebuilt from the stream anyway) commits without waiting for the WAL
        flush; the next durable commit flushes it too.
        """
        try:
            return await self._apply_tx(schema, batch, isolate=False, durable=durable)
        except TRANSIENT_DB_ERRORS:
            raise
        except Exception:  # noqa: BLE001 (some event in the batch is poison: find it, keep the rest)
            return await self._apply_tx(schema, batch, isolate=True, durable=durable)

    async def _apply_tx(self, schema: str, batch: list[Delivery], *, isolate: bool, durable: bool) -> list[Outcome]:
        async with self.pool.acquire() as conn, conn.transaction():
            setup = f"SET LOCAL search_path TO {check_schema_name(schema)}"
            await conn.execute(setup if durable else f"{setup}; SET LOCAL synchronous_commit TO off")
            return await self.applier.apply(conn, batch, isolate=isolate)

    async def lag(self) -> int | None:
        """Events in the stream not yet acked by this consumer."""
        try:
            info = await self.js.consumer_info(EVENTS_STREAM, self.durable)
        except Exception:  # noqa: BLE001 (a metric, not a failure)
            return None
        return info.num_pending + info.num_ack_pending


def delivery_of(msg: Msg) -> Delivery:
    """The delivery of a JetStream message."""
    return Delivery(msg.data, msg.subject, msg.metadata.sequence.stream if msg.reply else None)
