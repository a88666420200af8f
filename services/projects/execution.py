"""Running a command on one stream with retries on concurrent appends, and the reply it gives."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from shared.contracts.base import Command, EventEnvelope
from shared.decider import Decider
from shared.eventstore.store import EventStore, VersionConflict
from shared.handling import execute
from shared.rpc import RequestContext

ATTEMPTS = 3


async def run(store: EventStore, decider: Decider[Any], stream_id: str, cmd: Command, ctx: RequestContext,
              occurred_at: datetime | None = None, conn: asyncpg.Connection | None = None) -> list[EventEnvelope]:
    """Decide and append; after losing a race with another append, decide again on the fresh state."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            if conn is None:
                return await execute(store, decider, stream_id, cmd, ctx, occurred_at)
            async with conn.transaction():  # a savepoint: a lost race undoes only this attempt
                return await execute(store, decider, stream_id, cmd, ctx, occurred_at, conn=conn)
        except VersionConflict:
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def reply(stream_id: str, events: list[EventEnvelope]) -> dict[str, Any]:
    """What a successful command answers: the stream, its new version and what was recorded."""
    return {"stream_id": stream_id, "event_ids": [str(e.event_id) for e in events], "version": events[-1].version,
            "recorded": [{"type": e.type, **e.body} for e in events]}
