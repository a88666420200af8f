"""The periodic deadline sweep: reminders before items fall due and overdue notices, each exactly once.

The events themselves are the record: the rules emit a notice only if the item's history has
none for its current round, and the append carries the version the decision was made on, so a
second sweeper (another instance, or the same one after a restart) cannot notify twice. One
instance sweeps at a time (leadership); the others stand by.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from services.feedback.state import FeedbackState
from shared.config import Settings
from shared.contracts.base import Event
from shared.contracts.feedback import CheckDeadlines, FeedbackOverdue
from shared.decider import DecisionContext, Decider
from shared.eventstore.store import EventStore, NewEvent, VersionConflict
from shared.leader import leadership
from shared.logging import get_logger
from shared.timeutil import local_date, start_of_day

log = get_logger(__name__)

Clock = Callable[[], datetime]
ACTOR = "system:deadlines"

# Items forwarded (or reopened) and not closed: the only ones a notice can be due for.
_OPEN_ITEMS = """
    SELECT stream_id FROM events WHERE type IN ('FeedbackForwarded', 'FeedbackReopened')
    EXCEPT SELECT stream_id FROM events WHERE type = 'FeedbackClosed'
    ORDER BY stream_id"""


def system_clock() -> datetime:
    """The current time (UTC)."""
    return datetime.now(UTC)


def occurred_at(event: Event, now: datetime) -> datetime:
    """Business time of a notice: an item became overdue when its due date ended; a reminder, now."""
    if isinstance(event, FeedbackOverdue):
        return start_of_day(event.due_on + timedelta(days=1))
    return now


class DeadlineSweeper:
    """Checks every open item's due date against the clock and records the notices that are due."""

    def __init__(self, *, store: Callable[[], EventStore], decider: Decider[FeedbackState], settings: Settings,
                 schema: str, clock: Clock = system_clock) -> None:
        self.store, self.decider, self.settings, self.schema, self.clock = store, decider, settings, schema, clock
        self.active = False
        self.sweeps = 0

    async def sweep(self) -> dict[str, Any]:
        """One pass over the open items; returns how many were checked and notified."""
        now = self.clock()
        check = CheckDeadlines(as_of=local_date(now))
        store = self.store()
        stream_ids = [r["stream_id"] for r in await store.pool.fetch(_OPEN_ITEMS)]
        notified = []
        for stream_id in stream_ids:
            history, version = await store.load_events(stream_id)
            events = self.decider.decide(check, self.decider.fold(history), DecisionContext(now=now, actor=ACTOR))
            if not events:
                continue
            try:
                await store.append(stream_id, version, [NewEvent(e, occurred_at(e, now)) for e in events], actor=ACTOR,
                                   correlation_id=f"deadlines-{check.as_of}", recorded_at=system_clock())
            except VersionConflict:
                continue  # the item moved meanwhile (or another sweeper noticed first): the next pass decides again
            notified += [f"{stream_id}:{e.type}" for e in events]
        self.sweeps += 1
        if notified:
            log.info("deadline notices recorded", as_of=str(check.as_of), notices=notified)
        return {"as_of": check.as_of.isoformat(), "checked": len(stream_ids), "notices": notified}

    async def run(self) -> None:
        """Sweep every `feedback_sweep_interval_s` while this instance leads; restart after failures."""
        assert self.settings.database_url
        while True:
            try:
                async with leadership(self.settings, self.settings.database_url, self.schema, "feedback.deadlines"):
                    self.active = True
                    while True:
                        await self.sweep()
                        await asyncio.sleep(self.settings.feedback_sweep_interval_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (the sweep must outlive any failure)
                log.warning("deadline sweep failed; retrying", error=repr(exc))
                await asyncio.sleep(self.settings.projection_nak_delay_s)
            finally:
                self.active = False
