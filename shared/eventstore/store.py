"""Append-only event store on PostgreSQL: expected-version appends and a gap-free cursor."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4

import asyncpg

from shared.contracts.base import Event, EventEnvelope, EventRegistry, is_valid_stream_id
from shared.decider import Decider
from shared.errors import Conflict, ValidationFailed
from shared.metrics import EVENTS_APPENDED

S = TypeVar("S")

STREAM_CACHE_SIZE = 4096  # streams whose decoded events a store keeps (a project, a year, a delegate ...)
_COLUMNS = "pos, tx_id::text AS tx, stream_id, version, event_id, type, schema_version, data, meta, occurred_at, recorded_at"


class VersionConflict(Conflict):
    """The stream moved on since the caller read it: reload and retry, or report."""


@dataclass(frozen=True, order=True)
class Checkpoint:
    """A reader's place in an event table: (writing transaction, position)."""

    tx_id: int = 0
    pos: int = 0


@dataclass(frozen=True)
class StoredEvent:
    """An envelope read from the table, with the checkpoint just past it."""

    envelope: EventEnvelope
    checkpoint: Checkpoint


@dataclass(frozen=True)
class NewEvent:
    """An event to append, with its business time."""

    event: Event
    occurred_at: datetime


def _envelope(row: asyncpg.Record) -> EventEnvelope:
    # Not validated again: every value comes typed from the table's columns (uuid, int, timestamptz,
    # jsonb) and was validated when it was appended.
    meta = row["meta"]
    return EventEnvelope.model_construct(
        event_id=row["event_id"],
        type=row["type"],
        schema_version=row["schema_version"],
        stream_id=row["stream_id"],
        version=row["version"],
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
        actor=meta["actor"],
        correlation_id=meta["correlation_id"],
        causation_id=meta.get("causation_id"),
        body=row["data"],
        position=row["pos"],
    )


@dataclass(frozen=True)
class Folded:
    """A decider's state after the first `count` events of a cached stream."""

    evolve: Callable[[Any, Event], Any]
    initial: Any
    count: int
    state: Any

    def of(self, decider: Decider[Any]) -> bool:
        """Whether this state was folded by the decider's own evolve from its initial state."""
        return self.evolve is decider.evolve and (self.initial is decider.initial or self.initial == decider.initial)


@dataclass(frozen=True)
class CachedStream:
    """A stream's decoded events up to a version, the id of the event at that version, and the state
    a decider last folded from (a prefix of) these events."""

    events: tuple[Event, ...]
    version: int
    last_event_id: UUID
    folded: Folded | None = None

    def continued_by(self, rows: list[asyncpg.Record]) -> bool:
        """Whether stored rows read from this version on start with the very event cached there."""
        return bool(rows) and rows[0]["version"] == self.version and rows[0]["event_id"] == self.last_event_id

    def holds(self, events: Sequence[Event], version: int) -> bool:
        """Whether `events` (at `version`, as load_streams returned them) are these cached ones.

        By identity of the last event, not equality: only events read through this cache (and so
        proven to be the stored prefix) are the cached objects, and comparing every one would cost
        as much as folding them again on a long stream.
        """
        return (self.version == version and len(self.events) == len(events)
                and bool(events) and events[-1] is self.events[-1])


class StreamCache:
    """Decoded events of recently loaded (or appended) streams, and the state last folded from them, so
    deciding reads, decodes and folds only what is new.

    Events never change once committed, so a cached stream is a valid prefix as long as the event at
    its last version is still the stored one: a load or an append inside a transaction that later
    rolled back may have cached events that were never committed, and their ids then differ from
    (or are missing in) the table. Least recently used streams are dropped beyond `size`.
    """

    def __init__(self, size: int = STREAM_CACHE_SIZE) -> None:
        self.size = size
        self._streams: OrderedDict[str, CachedStream] = OrderedDict()

    def peek(self, stream_id: str) -> CachedStream | None:
        """The cached stream, its recency unchanged."""
        return self._streams.get(stream_id)

    def get(self, stream_id: str) -> CachedStream | None:
        """The cached stream, marked as just used."""
        found = self._streams.get(stream_id)
        if found is not None:
            self._streams.move_to_end(stream_id)
        return found

    def put(self, stream_id: str, stream: CachedStream) -> None:
        """Remember a stream, dropping the least recently used beyond the size."""
        self._streams[stream_id] = stream
        self._streams.move_to_end(stream_id)
        while len(self._streams) > self.size:
            self._streams.popitem(last=False)


class EventStore:
    """The event table of one service schema (the pool's search_path)."""

    def __init__(self, pool: asyncpg.Pool, registry: EventRegistry) -> None:
        self.pool = pool
        self.registry = registry
        self.cache = StreamCache()

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        actor: str,
        correlation_id: str,
        recorded_at: datetime,
        causation_id: str | None = None,
        event_ids: Sequence[UUID] | None = None,
        conn: asyncpg.Connection | None = None,
    ) -> list[EventEnvelope]:
        """Append events after `expected_version`; raise VersionConflict if the stream moved on.

        Pass `conn` (inside a transaction) to commit other writes atomically with the events;
        the append should then be the transaction's first write (see read_after).
        """
        if not events:
            return []
        if not is_valid_stream_id(stream_id):
            raise ValidationFailed(f"invalid stream id {stream_id!r}")
        ids = list(event_ids) if event_ids else [uuid4() for _ in events]
        meta = {"actor": actor, "correlation_id": correlation_id, "causation_id": causation_id}
        params = (
            stream_id,
            expected_version,
            [expected_version + i + 1 for i in range(len(events))],
            ids,
            [e.event.type for e in events],
            [e.event.schema_version for e in events],
            # Serialised in one step: the jsonb value is the one json.dumps(model_dump(mode="json")) gave.
            [e.event.model_dump_json() for e in events],
            [e.occurred_at for e in events],
            meta,
            recorded_at,
        )
        # The guard makes an append at a stale or future expected version insert nothing;
        # two racing appends at the same version collide on unique(stream_id, version).
        sql = f"""
            INSERT INTO events (stream_id, version, event_id, type, schema_version, data, meta, occurred_at, recorded_at)
            SELECT $1, u.v, u.e, u.t, u.s, u.d::jsonb, $9::jsonb, u.o, $10
            FROM unnest($3::int[], $4::uuid[], $5::text[], $6::int[], $7::text[], $8::timestamptz[])
                 AS u(v, e, t, s, d, o)
            WHERE (SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1) = $2
            RETURNING {_COLUMNS}"""
        try:
            if conn is not None:
                rows = await conn.fetch(sql, *params)
            else:
                async with self.pool.acquire() as c:
                    rows = await c.fetch(sql, *params)
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == "events_event_id_key":
                raise Conflict("event id already stored", {"event_ids": [str(i) for i in ids]}) from exc
            raise self._conflict(stream_id, expected_version) from exc
        if not rows:
            raise self._conflict(stream_id, expected_version)
        for row in rows:
            # Counted at insert: a caller's transaction that rolls back afterwards still counts (rare).
            EVENTS_APPENDED.labels(row["type"]).inc()
        return [_envelope(r) for r in sorted(rows, key=lambda r: r["version"])]

    @staticmethod
    def _conflict(stream_id: str, expected: int) -> VersionConflict:
        return VersionConflict(
            f"stream {stream_id} is not at version {expected}", {"stream_id": stream_id, "expected_version": expected}
        )

    async def load(self, stream_id: str, conn: asyncpg.Connection | None = None) -> list[EventEnvelope]:
        """Every event of one stream, in version order."""
        sql = f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY version"
        if conn is not None:
            return [_envelope(r) for r in await conn.fetch(sql, stream_id)]
        async with self.pool.acquire() as c:
            return [_envelope(r) for r in await c.fetch(sql, stream_id)]

    async def load_events(self, stream_id: str, conn: asyncpg.Connection | None = None) -> tuple[list[Event], int]:
        """The typed events of one stream and its current version."""
        return (await self.load_streams([stream_id], conn))[stream_id]

    async def load_streams(self, stream_ids: Sequence[str],
                           conn: asyncpg.Connection | None = None) -> dict[str, tuple[list[Event], int]]:
        """The typed events and current version of each stream (([], 0) if empty), in one query.

        Only what deciding needs is read: no envelope is built (it would validate every row twice).
        Streams seen before are read from their last known version on (see StreamCache).
        """
        ids = list(dict.fromkeys(stream_ids))
        known = {s: self.cache.get(s) for s in ids}
        db = conn if conn is not None else self.pool
        rows = await self._rows_after(ids, [k.version if k else 0 for k in known.values()], db)
        by_stream: dict[str, list[asyncpg.Record]] = {s: [] for s in ids}
        for row in rows:
            by_stream[row["stream_id"]].append(row)
        stale = [s for s in ids if (k := known[s]) and not k.continued_by(by_stream[s])]
        if stale:  # the cached prefix is not the stored one (a rolled-back read): read those again whole
            for s in stale:
                known[s], by_stream[s] = None, []
            for row in await self._rows_after(stale, [0] * len(stale), db):
                by_stream[row["stream_id"]].append(row)
        loaded: dict[str, tuple[list[Event], int]] = {}
        for s in ids:
            cached = known[s]
            fresh = [r for r in by_stream[s] if cached is None or r["version"] > cached.version]
            events = [*(cached.events if cached else ()),
                      *(self.registry.decode(r["type"], r["schema_version"], r["data"]) for r in fresh)]
            version = fresh[-1]["version"] if fresh else (cached.version if cached else 0)
            if version:
                last_id = fresh[-1]["event_id"] if fresh else cached.last_event_id  # type: ignore[union-attr]
                # The prefix was proven: a state folded from its first events stays valid.
                self.cache.put(s, CachedStream(tuple(events), version, last_id, cached.folded if cached else None))
            loaded[s] = (events, version)
        return loaded

    def fold(self, stream_id: str, decider: Decider[S], events: Sequence[Event], version: int) -> S:
        """The decider's state after a stream's events (as load_streams returned them, at `version`).

        Only the events past the state cached with the stream are folded (evolve is pure and states
        immutable, so a state once folded stands); the new state is cached for the next command.
        """
        cached = self.cache.peek(stream_id)
        if cached is None or not cached.holds(events, version):
            return decider.fold(events)
        folded = cached.folded
        start, state = (folded.count, folded.state) if folded is not None and folded.of(decider) else (0, decider.initial)
        if start == len(events):
            return state
        state = decider.fold_from(state, events[start:])
        self.cache.put(stream_id, replace(cached, folded=Folded(decider.evolve, decider.initial, len(events), state)))
        return state

    def remember_appended(self, stream_id: str, decided_on: Sequence[Event], version: int, events: Sequence[Event],
                          appended: Sequence[EventEnvelope]) -> None:
        """Cache the events just appended after `decided_on` (the stream at `version`, as load_streams
        returned it), so the next command neither reads their rows whole nor decodes them again.

        The append succeeded at `version`, so the stream holds exactly these events after that prefix;
        if the caller's transaction rolls back, the next load finds their ids missing (see StreamCache).
        """
        if not appended:
            return
        if version == 0:
            prior: CachedStream | None = None
        else:
            prior = self.cache.peek(stream_id)
            if prior is None or not prior.holds(decided_on, version):
                return
        last = appended[-1]
        self.cache.put(stream_id, CachedStream((*(prior.events if prior else ()), *events), last.version,
                                               last.event_id, prior.folded if prior else None))

    @staticmethod
    async def _rows_after(ids: list[str], versions: list[int],
                          conn: asyncpg.Connection | asyncpg.Pool) -> list[asyncpg.Record]:
        # From the known version itself (not after it): its event id proves the cached prefix; its
        # body is cached already, so not sent (nor decoded) again.
        sql = """SELECT e.stream_id, e.version, e.event_id, e.type, e.schema_version,
                        CASE WHEN e.version > k.known THEN e.data END AS data
                 FROM unnest($1::text[], $2::int[]) AS k(stream_id, known)
                 JOIN events e ON e.stream_id = k.stream_id AND e.version >= k.known
                 ORDER BY e.stream_id, e.version"""
        return await conn.fetch(sql, ids, versions)

    async def read_after(
        self, after: Checkpoint, limit: int, conn: asyncpg.Connection | None = None
    ) -> list[StoredEvent]:
        """Events committed after a checkpoint, in commit-safe order; never skips a late commit.

        Rows are passed only once every transaction older than them has ended (the xid8 horizon),
        so an event committed late by a slow transaction is still ahead of the cursor.
        """
        sql = f"""
            SELECT {_COLUMNS} FROM events
            WHERE (tx_id, pos) > ($1::text::xid8, $2::bigint)
              AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
            ORDER BY tx_id, pos
            LIMIT $3"""
        args = (str(after.tx_id), after.pos, limit)
        rows = await conn.fetch(sql, *args) if conn is not None else await self.pool.fetch(sql, *args)
        return [StoredEvent(_envelope(r), Checkpoint(int(r["tx"]), r["pos"])) for r in rows]

    async def load_cursor(self, name: str, conn: asyncpg.Connection | None = None) -> Checkpoint:
        """Where the named reader has got to (the start if it never read)."""
        sql = "SELECT tx_id::text AS tx, pos FROM event_cursors WHERE name = $1"
        row = await conn.fetchrow(sql, name) if conn is not None else await self.pool.fetchrow(sql, name)
        return Checkpoint(int(row["tx"]), row["pos"]) if row else Checkpoint()

    async def save_cursor(self, name: str, checkpoint: Checkpoint, conn: asyncpg.Connection | None = None) -> None:
        """Move the named reader's checkpoint."""
        sql = """INSERT INTO event_cursors (name, tx_id, pos) VALUES ($1, $2::text::xid8, $3)
                 ON CONFLICT (name) DO UPDATE SET tx_id = excluded.tx_id, pos = excluded.pos"""
        args = (name, str(checkpoint.tx_id), checkpoint.pos)
        if conn is not None:
            await conn.execute(sql, *args)
        else:
            await self.pool.execute(sql, *args)

    async def stats(self) -> dict[str, Any]:
        """Counts for operators: events stored and the newest position."""
        row = await self.pool.fetchrow("SELECT count(*) AS events, coalesce(max(pos), 0) AS last_pos FROM events")
        return dict(row)
