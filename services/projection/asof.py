"""Views as they stood on a past date, computed from the event history kept by the timeline view.

The chosen read models are built in a scratch schema inside one transaction from every event
that had happened (business time) by the end of that day, queried, and rolled back: nothing of
it stays. Each stream contributes the prefix of its history up to the date, so versions stay
contiguous and the ordinary appliers apply unchanged.

A replay reads the history through a server-side cursor, a chunk at a time (memory stays flat
whatever the history's size), and only one runs at a time in a process: a second one that cannot
start within REPLAY_WAIT_S is told the system is busy instead of holding an RPC worker.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import asyncpg

from shared.consumer import BatchApplier, Delivery
from shared.contracts.base import EventEnvelope, EventRegistry
from shared.errors import Unavailable
from shared.readmodel import ANY_EVENT, CONSUMER_DDL, ReadModel
from shared.subjects import event_subject
from shared.timeutil import start_of_day

T = TypeVar("T")

_BATCH = 1000  # events fetched from the cursor and applied at a time

# How long a replay waits for the one running before it to end.
REPLAY_WAIT_S = 1.0
# One lock per event loop (a lock belongs to the loop it first waits on; tests run several loops).
_replay_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


class _RollBack(Exception):
    """Ends the scratch transaction after the answer is read."""


def end_of_day(day: date) -> datetime:
    """The first instant after a city calendar day."""
    return start_of_day(day + timedelta(days=1))


async def as_of(conn: asyncpg.Connection, live_schema: str, models: list[ReadModel], registry: EventRegistry,
                day: date, answer: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Build `models` from the history up to `day` in a scratch schema, run `answer` on it, discard it.

    Raises Unavailable when another replay of this process does not end within REPLAY_WAIT_S.
    """
    scratch = f"asof_{uuid.uuid4().hex[:12]}"
    applier = BatchApplier(models, registry)
    result: list[T] = []
    try:
        async with _one_replay_at_a_time(), conn.transaction():
            await conn.execute(f"CREATE SCHEMA {scratch}")
            await conn.execute(f"SET LOCAL search_path TO {scratch}, {live_schema}")
            await conn.execute(CONSUMER_DDL)
            for model in models:
                if model.ddl:
                    await conn.execute(model.ddl)
            await _replay_until(conn, live_schema, applier, end_of_day(day), _handled(models))
            result.append(await answer(conn))
            raise _RollBack
    except _RollBack:
        pass
    return result[0]


@asynccontextmanager
async def _one_replay_at_a_time() -> AsyncIterator[None]:
    # A replay reads and writes the whole history: two at once would each take twice as long and
    # starve the other queries of the database and the process; the second is refused instead.
    lock = _replay_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    try:
        await asyncio.wait_for(lock.acquire(), REPLAY_WAIT_S)
    except TimeoutError:
        raise Unavailable("系统正忙：另一个历史日期的查询正在进行，请稍后重试 / "
                          "busy: another as-of query is running, please retry shortly",
                          {"retry_after_s": REPLAY_WAIT_S}) from None
    try:
        yield
    finally:
        lock.release()


def _handled(models: list[ReadModel]) -> list[str] | None:
    """The event types the models apply; None when one applies every event."""
    types = {t for m in models for t in m.appliers}
    return None if ANY_EVENT in types else sorted(types)


async def _replay_until(conn: asyncpg.Connection, live_schema: str, applier: BatchApplier, until: datetime,
                        types: list[str] | None) -> None:
    # Per stream, the events before the first one that happened after `until` (a contiguous prefix);
    # of those only the types the models apply (contact logs, invitations ... are most of the history),
    # numbered again 1, 2, 3 ... per stream so that the versions the appliers check stay contiguous.
    # A server-side cursor (the caller's transaction keeps it open): the history comes a chunk at a time.
    cursor = await conn.cursor(
        f"""WITH cut AS (
                SELECT stream_id, min(version) AS first_after FROM {live_schema}.timeline
                WHERE occurred_at >= $1 GROUP BY stream_id)
            SELECT t.event_id, t.stream_id,
                   row_number() OVER (PARTITION BY t.stream_id ORDER BY t.version)::int AS version,
                   t.type, t.occurred_at, t.recorded_at, t.actor, t.correlation_id, t.body, t.schema_version,
                   -- Recording order, never before an earlier version of the same stream (else a gap).
                   max(t.recorded_at) OVER (PARTITION BY t.stream_id ORDER BY t.version) AS replay_at
            FROM {live_schema}.timeline t LEFT JOIN cut USING (stream_id)
            WHERE (cut.first_after IS NULL OR t.version < cut.first_after)
              AND ($2::text[] IS NULL OR t.type = ANY($2::text[]))
            ORDER BY replay_at, t.stream_id, t.version""",
        until, types,
    )
    while rows := await cursor.fetch(_BATCH):
        batch = []
        for r in rows:
            env = EventEnvelope(event_id=r["event_id"], type=r["type"], schema_version=r["schema_version"],
                                stream_id=r["stream_id"], version=r["version"], occurred_at=r["occurred_at"],
                                recorded_at=r["recorded_at"], actor=r["actor"], correlation_id=r["correlation_id"],
                                body=r["body"])
            batch.append(Delivery(env.model_dump_json().encode(), event_subject("asof", env.stream_id, env.type),
                                  None))
        await _apply(conn, applier, batch)


async def _apply(conn: asyncpg.Connection, applier: BatchApplier, batch: list[Delivery]) -> None:
    # The whole batch model by model (writes grouped) in a savepoint; event by event only if that fails.
    try:
        async with conn.transaction():
            await applier.apply(conn, batch, isolate=False)
    except Exception:  # noqa: BLE001 - a poison event: the isolated pass leaves out only it
        await applier.apply(conn, batch, isolate=True)


def models_named(models: list[ReadModel], *names: str) -> list[ReadModel]:
    """The read models with these names (what an as-of answer needs), in the given order."""
    by_name: dict[str, Any] = {m.name: m for m in models}
    return [by_name[n] for n in names]
