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
from shared.handling import execute
from shared.rpc import RequestContext

LoadFacts = Callable[[asyncpg.Connection], Awaitable[Facts]]
RETRIES = 3  # decisions on a stream that others append to at the same moment


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


async def run_alone(store: EventStore, pool: asyncpg.Pool, decider: Callable[[Facts], Decider[Any]],
                    stream_id: str, command: Command, ctx: RequestContext, load: LoadFacts = no_facts,
                    occurred_at: datetime | None = None) -> list[EventEnvelope]:
    """`run` in a transaction of its own; a stream that moved meanwhile is re-read and decided again."""
    for attempt in range(1, RETRIES + 1):
        try:
            async with pool.acquire() as conn, conn.transaction():
                return await run(store, conn, decider, stream_id, command, ctx, load, occurred_at)
        except VersionConflict:
            # Two members joining one group at once: the second decides again on the new state.
            if attempt == RETRIES:
                raise
    raise AssertionError("unreachable")


def reply(events: list[EventEnvelope], **ids: Any) -> dict[str, Any]:
    """The reply of a command: what was recorded (nothing, when nothing changed)."""
    return {**ids, "changed": bool(events), "event_ids": [str(e.event_id) for e in events],
            "version": events[-1].version if events else None}
