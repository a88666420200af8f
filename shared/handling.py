"""Running a command against an event-sourced aggregate: load, fold, decide, append."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from shared.contracts.base import Command, EventEnvelope
from shared.decider import DecisionContext, Decider
from shared.eventstore.store import EventStore, NewEvent
from shared.rpc import RequestContext


async def execute(
    store: EventStore,
    decider: Decider[Any],
    stream_id: str,
    command: Command,
    ctx: RequestContext,
    occurred_at: datetime | None = None,
    conn: asyncpg.Connection | None = None,
) -> list[EventEnvelope]:
    """Decide a command on the stream's current state and append the outcome at that version.

    With `conn` (in a transaction) the append commits together with the caller's other writes.
    """
    history, version = await store.load_events(stream_id, conn)
    state = decider.fold(history)
    events = decider.decide(command, state, DecisionContext(now=ctx.received_at, actor=ctx.actor))
    when = occurred_at or ctx.received_at
    return await store.append(
        stream_id,
        version,
        [NewEvent(e, when) for e in events],
        actor=ctx.actor,
        correlation_id=ctx.correlation_id,
        recorded_at=ctx.received_at,
        conn=conn,
    )
