"""Running a command with facts: read the facts, decide, append, update the facts, in one transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg

from services.delegates import tables
from services.delegates.domain.facts import Facts
from shared.contracts.base import Command, EventEnvelope
from shared.decider import Decider
from shared.errors import Conflict
from shared.eventstore.store import EventStore, VersionConflict
from shared.handling import RETRY_ATTEMPTS, after_lost_race, execute
from shared.rpc import RequestContext

LoadFacts = Callable[[asyncpg.Connection], Awaitable[Facts]]


def plain(decider: Decider[Any]) -> Callable[[Facts], Decider[Any]]:
    """A decider that needs no facts, in the shape `run` takes."""
    return lambda _: decider


async def no_facts(conn: asyncpg.Connection) -> Facts:
    """For commands whose rules need nothing beyond their own stream."""
    return Facts()


async def run(store: EventStore, conn: asyncpg.Connection, decider: Callable[[Facts], Decider[Any]], stream_id: str,
              command: Command, ctx: RequestContext, load: LoadFacts = no_facts,
              occurred_at: datetime | None = None) -> list[EventEnvelope]:
    """Decide `command` with facts read in the caller's transaction; append and record the facts there.

    The event INSERT is the transaction's first write (REFERENCE.md); the fact tables follow it.
    """
    facts = await load(conn)
    try:
        async with conn.transaction():  # a savepoint, so a refused fact write undoes the append too
            events = await execute(store, decider(facts), stream_id, command, ctx, occurred_at, conn=conn)
            await tables.record(conn, events)
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "memberships_pkey":
            raise Conflict("该代表本年度已在其他代表小组 / the delegate is already in a group this year",
                           {"stream_id": stream_id}) from exc
        raise Conflict("记录已存在 / already recorded", {"stream_id": stream_id}) from exc
    return events


async def retrying(pool: asyncpg.Pool, body: Callable[[asyncpg.Connection], Awaitable[list[EventEnvelope]]]
                   ) -> list[EventEnvelope]:
    """`body` in a transaction of its own; when a stream it appends to moved meanwhile, all of it again.

    Not shared.handling.execute_retrying: that one retries only the append, in a savepoint of the
    caller's transaction, on the facts already read. Here the facts (memberships, an active
    delegate, row locks) are read again in a fresh transaction, because the race that moved the
    stream (two members joining one group at once) may have changed them too.
    """
    for attempt in range(1, RETRY_ATTEMPTS + 1):
        try:
            async with pool.acquire() as conn, conn.transaction():
                return await body(conn)
        except VersionConflict:
            if attempt == RETRY_ATTEMPTS:
                raise
            await after_lost_race(attempt)
    raise AssertionError("unreachable")


async def run_alone(store: EventStore, pool: asyncpg.Pool, decider: Callable[[Facts], Decider[Any]],
                    stream_id: str, command: Command, ctx: RequestContext, load: LoadFacts = no_facts,
                    occurred_at: datetime | None = None) -> list[EventEnvelope]:
    """`run` in a transaction of its own, decided again on fresh facts when the stream moved meanwhile."""
    return await retrying(pool, lambda conn: run(store, conn, decider, stream_id, command, ctx, load, occurred_at))


def reply(events: list[EventEnvelope], **ids: Any) -> dict[str, Any]:
    """The reply of a command: what was recorded (nothing, when nothing changed)."""
    return {**ids, "changed": bool(events), "event_ids": [str(e.event_id) for e in events],
            "version": events[-1].version if events else None}
