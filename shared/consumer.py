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
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

import asyncpg
import nats.errors
import nats.js.errors
import pydantic
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, ConsumerInfo, DeliverPolicy

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

# "$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<timestamp>.<pending>"
_V1_ACK_TOKENS = 9


class Outcome(Enum):
    """What became of one message: ack all but GAP, which waits for the missing version."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    DEAD = "dead"
    GAP = "gap"


@dataclass(frozen=True)
class Parsed:
    """A delivery decoded: its envelope (None: unparseable) and typed event, or the error decoding the event."""

    envelope: EventEnvelope | None
    event: Any = None
    error: Exception | None = None

    def typed_event(self) -> Any:
        """The typed event; raises the decoding error (the event is then poison)."""
        if self.error is not None:
            raise self.error
        return self.event


@dataclass(frozen=True)
class Delivery:
    """One event message as delivered: raw bytes, subject, stream sequence (and, once decoded, `parsed`)."""

    data: bytes
    subject: str
    seq: int | None
    parsed: Parsed | None = field(default=None, compare=False, repr=False)


class BatchApplier:
    """Applies deliveries to every read model; the caller owns the transaction."""

    def __init__(self, models: list[ReadModel], registry: EventRegistry) -> None:
        self.models, self.registry = models, registry
        self._any_appliers = {m.appliers[ANY_EVENT] for m in models if ANY_EVENT in m.appliers}
        # Per event type, looked up once: each model's applier (None if it has none) and whether the type is known.
        self._by_type: dict[str, tuple[list[Apply | None], bool]] = {}
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
        parsed = [d.parsed or self.parse(d) for d in batch]
        envelopes = [p.envelope for p in parsed]
        streams = list({e.stream_id for e in envelopes if e is not None})
        rows = await conn.fetch("SELECT stream_id, version FROM stream_versions WHERE stream_id = ANY($1::text[])",
                                streams)
        versions = {r["stream_id"]: r["version"] for r in rows}
        moved: set[str] = set()
        if isolate:
            outcomes = [await self._apply_one(conn, d, p, versions, moved) for d, p in zip(batch, parsed, strict=True)]
        else:
            outcomes = await self._apply_by_model(conn, batch, parsed, versions, moved)
        if moved:
            await conn.execute(
                """INSERT INTO stream_versions (stream_id, version)
                   SELECT * FROM unnest($1::text[], $2::int[])
                   ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version""",
                list(moved), [versions[s] for s in moved],
            )
        return outcomes

    def parse(self, d: Delivery) -> Parsed:
        """Decode a delivery: envelope, then the typed event once for every read model that applies it."""
        try:
            env = EventEnvelope.model_validate_json(d.data)
        except pydantic.ValidationError:
            return Parsed(None)
        if not (appliers := self._appliers(env)):
            return Parsed(env)
        try:
            return Parsed(env, self._decode(env, appliers))
        except Exception as exc:  # noqa: BLE001 (raised when the event is applied: it is then poison)
            return Parsed(env, error=exc)

    async def prepare(self, batch: list[Delivery], *, chunk: int = 50) -> list[Delivery]:
        """The batch decoded ahead of `apply`, yielding to the event loop between chunks.

        A rebuild decodes the next batch while the current one waits on the database.
        """
        out: list[Delivery] = []
        for i in range(0, len(batch), chunk):
            out += [Delivery(d.data, d.subject, d.seq, self.parse(d)) for d in batch[i:i + chunk]]
            await asyncio.sleep(0)
        return out

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

    def _per_model(self, type_: str) -> tuple[list[Apply | None], bool]:
        """Each model's applier of an event type (None: the model ignores it), and whether the type is registered."""
        try:
            return self._by_type[type_]
        except KeyError:
            found = ([m.appliers.get(type_) or m.appliers.get(ANY_EVENT) for m in self.models],
                     self.registry.knows(type_))
            self._by_type[type_] = found
            return found

    def _appliers(self, env: EventEnvelope) -> list[Apply]:
        return [a for a in self._per_model(env.type)[0] if a]

    def _decode(self, env: EventEnvelope, appliers: list[Apply]) -> Any:
        """The typed event, once for every read model (None for a type only catch-all appliers see)."""
        event = self.registry.decode_envelope(env) if self._per_model(env.type)[1] else None
        if event is None and any(a not in self._any_appliers for a in appliers):
            self.registry.decode_envelope(env)  # raises: an event type nobody registered
        return event

    async def _apply_by_model(self, conn: asyncpg.Connection, batch: list[Delivery],
                              parsed: list[Parsed], versions: dict[str, int], moved: set[str]) -> list[Outcome]:
        # Read models share no tables and no applier reads another model's tables, so each model
        # may take the whole batch in turn: only the order within a model (and a stream) matters.
        outcomes: list[Outcome] = []
        todo: list[tuple[EventEnvelope, Any, list[Apply | None]]] = []
        for d, p in zip(batch, parsed, strict=True):
            if (env := p.envelope) is None:
                await self._dead_letter(conn, d, None, "unparseable event envelope")
                outcomes.append(Outcome.DEAD)
                continue
            outcome = self._admit(env, versions)
            if outcome is Outcome.APPLIED:
                per_model = self._per_model(env.type)[0]
                if any(per_model):
                    todo.append((env, p.typed_event(), per_model))
                versions[env.stream_id] = env.version
                moved.add(env.stream_id)
            outcomes.append(outcome)
        buffered = BufferedConnection(conn, self.tables)
        for i in range(len(self.models)):
            for env, event, per_model in todo:
                if apply := per_model[i]:
                    await apply(buffered, env, event)
        await buffered.flush()
        self._count(buffered)
        return outcomes

    async def _apply_one(self, conn: asyncpg.Connection, d: Delivery, p: Parsed,
                         versions: dict[str, int], moved: set[str]) -> Outcome:
        if (env := p.envelope) is None:
            await self._dead_letter(conn, d, None, "unparseable event envelope")
            return Outcome.DEAD
        outcome = self._admit(env, versions)
        if outcome is not Outcome.APPLIED:
            return outcome
        if appliers := self._appliers(env):
            try:
                async with conn.transaction():  # a savepoint: a poison event undoes only itself
                    buffered = BufferedConnection(conn, self.tables)
                    event = p.typed_event()
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
                 on_active: Callable[[], Awaitable[None]] | None = None, linger_s: float = 0.0) -> None:
        self.pool, self.js, self.settings, self.dsn = pool, js, settings, dsn
        self.linger_s = linger_s  # pause after a short batch, so the next one gathers more (settings.*_linger_s)
        self.durable, self.subjects, self.schema = durable, subjects, check_schema_name(schema)
        self.applier = BatchApplier(models, registry)
        self.on_active = on_active
        # Held while a batch is applied (a projection rebuild holds it for its catch-up and swap).
        self.lock = asyncio.Lock()
        self.applied = 0
        self.last_recorded_at: datetime | None = None  # latest recorded time of an applied event (read-model lag)
        self.active = False
        # Set by a rebuild: the tables hold every event up to this stream sequence, so the durable
        # consumer moves past it instead of delivering those events again (see `resume_after`).
        self._resume_after: int | None = None
        self.repositioned = 0  # times the durable consumer was moved forward past rebuilt events

    def resume_after(self, stream_seq: int) -> None:
        """Tell the follower its tables now hold every event up to `stream_seq` (call holding `lock`).

        The durable consumer is moved to start right after it (if it is not there already), so the
        events a rebuild just applied are not delivered again; any later event still is.
        """
        self._resume_after = stream_seq

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

    async def ensure_consumer(self, start_after: int | None = None) -> None:
        """Create the durable consumer, or replace a live one whose config drifted from the code.

        With `start_after` (the tables hold every event up to that stream sequence), a consumer whose
        ack floor is behind it is recreated to start right after it, so those events are not delivered again.
        """
        desired = self.consumer_config()
        try:
            info: ConsumerInfo | None = await self.js.consumer_info(EVENTS_STREAM, self.durable)
        except nats.js.errors.NotFoundError:
            info = None

        def key(c: ConsumerConfig) -> tuple[Any, ...]:
            # Not the deliver policy: where a consumer starts matters only when it is created.
            return (c.filter_subject, sorted(c.filter_subjects or []), c.ack_policy)

        if info is not None and key(info.config) != key(desired):
            # Safe: appliers are idempotent; the new consumer replays from the start (or `start_after`).
            log.warning("durable consumer config drifted; recreating", durable=self.durable, live=str(info.config))
            await self.js.delete_consumer(EVENTS_STREAM, self.durable)
            info = None
        if info is not None and start_after and (info.ack_floor.stream_seq if info.ack_floor else 0) < start_after:
            # Events up to `start_after` are in the tables; the ones after it are delivered by the new consumer.
            log.info("moving durable consumer past the events the tables hold", durable=self.durable,
                     ack_floor=info.ack_floor and info.ack_floor.stream_seq, start_after=start_after)
            await self.js.delete_consumer(EVENTS_STREAM, self.durable)
            info = None
            self.repositioned += 1
        if info is None:
            if start_after:
                desired.deliver_policy = DeliverPolicy.BY_START_SEQUENCE
                desired.opt_start_seq = start_after + 1
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
                while True:  # again whenever a rebuild asks the consumer to move forward
                    resume = self._resume_after
                    await self.ensure_consumer(resume)
                    if self._resume_after == resume:
                        self._resume_after = None
                    psub = await self.js.pull_subscribe_bind(self.durable, stream=EVENTS_STREAM)
                    try:
                        while self._resume_after is None:
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
                if self._resume_after is not None:
                    # A rebuild swapped tables in meanwhile: this batch is either in them already or
                    # delivered again by the consumer moved past them (nak: in case it is not moved).
                    for m in msgs:
                        await m.nak()
                    return
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
        for outcome, n in Counter(outcomes).items():  # per batch, not per event
            EVENTS_CONSUMED.labels(self.durable, outcome.value).inc(n)
        if msgs:
            CONSUMER_LAG.labels(self.durable).set(msgs[-1].metadata.num_pending)
        if self.linger_s and len(msgs) < self.settings.projection_batch_size:
            await asyncio.sleep(self.linger_s)  # caught up: let a few more events gather for one transaction

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
            # The pool's connections see the follower's own schema already: a round trip per batch saved.
            setup = [] if schema == self.schema else [f"SET LOCAL search_path TO {check_schema_name(schema)}"]
            if not durable:
                setup.append("SET LOCAL synchronous_commit TO off")
            if setup:
                await conn.execute("; ".join(setup))
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
    return Delivery(msg.data, msg.subject, stream_seq(msg) if msg.reply else None)


def stream_seq(msg: Msg) -> int:
    """The stream sequence of a JetStream message, read from its ack subject.

    `msg.metadata` parses every token and a timestamp; a rebuild needs the sequence alone, per event.
    """
    tokens = msg.reply.split(".")
    if len(tokens) == _V1_ACK_TOKENS and tokens[0] == "$JS" and tokens[1] == "ACK":
        return int(tokens[5])
    return msg.metadata.sequence.stream  # the longer (domain) form, or not an ack subject: let nats-py say
