"""Running a command against an event-sourced aggregate: load, fold, decide, append."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg

from shared.contracts.base import Command, Event, EventEnvelope
from shared.decider import DecisionContext, Decider
from shared.eventstore.store import EventStore, NewEvent, VersionConflict
from shared.rpc import RequestContext


async def execute(
    store: EventStore,
    decider: Decider[Any],
    stream_id: str,
    command: Command,
    ctx: RequestContext,
    occurred_at: datetime | Callable[[Any], datetime | None] | None = None,
    conn: asyncpg.Connection | None = None,
    causation_id: str | None = None,
    loaded: tuple[list[Event], int] | None = None,
) -> list[EventEnvelope]:
    """Decide a command on the stream's current state and append the outcome at that version.

    `occurred_at` may be a function of the state before the decision, for business times only the
    stream knows (e.g. attendance happened when the activity started). With `conn` (in a
    transaction) the append commits together with the caller's other writes. `loaded`: the
    stream's events and version when the caller already read them (with other streams, in one query).
    """
    history, version = loaded if loaded is not None else await store.load_events(stream_id, conn)
    state = store.fold(stream_id, decider, history, version)
    events = decider.decide(command, state, DecisionContext(now=ctx.received_at, actor=ctx.actor))
    when = (occurred_at(state) if callable(occurred_at) else occurred_at) or ctx.received_at
    appended = await store.append(
        stream_id,
        version,
        [NewEvent(e, when) for e in events],
        actor=ctx.actor,
        correlation_id=ctx.correlation_id,
        recorded_at=ctx.received_at,
        causation_id=causation_id,
        conn=conn,
    )
    store.remember_appended(stream_id, history, version, events, appended)
    return appended


RETRY_ATTEMPTS = 5


async def after_lost_race(attempt: int) -> None:
    """A short random pause before deciding again, growing with each lost race.

    Writers that collided on one stream and retried at once would collide again: a dozen
    delegates joining one group while their terms end lost three races in a row now and then.
    """
    await asyncio.sleep(random.uniform(0, 0.002 * attempt))


async def execute_retrying(
    store: EventStore,
    decider: Decider[Any],
    stream_id: str,
    command: Command,
    ctx: RequestContext,
    occurred_at: datetime | Callable[[Any], datetime | None] | None = None,
    conn: asyncpg.Connection | None = None,
    causation_id: str | None = None,
    loaded: tuple[list[Event], int] | None = None,
) -> list[EventEnvelope]:
    """`execute`, deciding again on the fresh state after losing a race with another append.

    `loaded` (the stream as the caller read it) serves the first attempt only; a retry reloads.

    With `conn` in a transaction, each attempt runs in a savepoint, so a lost race undoes only that
    attempt. With `conn` outside one, the attempts run on it unwrapped: the append is one statement,
    atomic on its own, and a transaction would only add two round trips.
    """
    for attempt in range(1, RETRY_ATTEMPTS + 1):
        try:
            if conn is None or not conn.is_in_transaction():
                return await execute(store, decider, stream_id, command, ctx, occurred_at, conn, causation_id, loaded)
            async with conn.transaction():
                return await execute(store, decider, stream_id, command, ctx, occurred_at, conn, causation_id, loaded)
        except VersionConflict:
            if attempt == RETRY_ATTEMPTS:
                raise
            loaded = None
            await after_lost_race(attempt)
    raise AssertionError("unreachable")
