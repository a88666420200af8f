"""Append-only event store on PostgreSQL: expected-version appends and a gap-free cursor."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from shared.contracts.base import Event, EventEnvelope, EventRegistry, is_valid_stream_id
from shared.errors import Conflict, ValidationFailed
from shared.metrics import EVENTS_APPENDED

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
    meta = row["meta"]
    return EventEnvelope(
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


class EventStore:
    """The event table of one service schema (the pool's search_path)."""

    def __init__(self, pool: asyncpg.Pool, registry: EventRegistry) -> None:
        self.pool = pool
        self.registry = registry

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
            [json.dumps(e.event.model_dump(mode="json"), ensure_ascii=False) for e in events],
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
        """
        sql = """SELECT stream_id, version, type, schema_version, data FROM events
                 WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, version"""
        ids = list(stream_ids)
        rows = await conn.fetch(sql, ids) if conn is not None else await self.pool.fetch(sql, ids)
        loaded: dict[str, tuple[list[Event], int]] = {s: ([], 0) for s in ids}
        for row in rows:
            events, _ = loaded[row["stream_id"]]
            events.append(self.registry.decode(row["type"], row["schema_version"], row["data"]))
            loaded[row["stream_id"]] = (events, row["version"])
        return loaded

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
