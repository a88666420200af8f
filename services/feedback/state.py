"""What the rules of a feedback item need to know about its past: state and evolve (pure)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from shared.contracts.base import Event
from shared.contracts.feedback import (
    FeedbackAnswered,
    FeedbackClosed,
    FeedbackCoReplied,
    FeedbackForwarded,
    FeedbackOverdue,
    FeedbackReceived,
    FeedbackReopened,
    FeedbackSubmitted,
    ReminderSent,
)
from shared.timeutil import local_date


@dataclass(frozen=True)
class Policy:
    """Configured rules: default answer period, reminder lead time, how many rounds 不满意 may open."""

    due_days: int = 30
    reminder_days: int = 3
    max_rounds: int = 2


@dataclass(frozen=True)
class Round:
    """One round of handling: who must answer, by when, and what happened so far."""

    number: int
    main: str
    co: tuple[str, ...]
    started_on: date  # forwarded (round 1) or reopened (later rounds)
    due_on: date
    received_by: frozenset[str] = frozenset()
    co_replied: frozenset[str] = frozenset()
    answered_on: date | None = None
    reminded: bool = False
    overdue_notified: bool = False

    @property
    def departments(self) -> tuple[str, ...]:
        """The main department first, then the co-departments."""
        return (self.main, *self.co)

    def role_of(self, dept: str) -> str | None:
        """'main', 'co' or None when the item was not forwarded to this department."""
        return "main" if dept == self.main else "co" if dept in self.co else None


@dataclass(frozen=True)
class FeedbackState:
    """A feedback item as its rules see it."""

    feedback_id: str | None = None
    status: str = "none"  # none | submitted | forwarded | received | answered | reopened | closed
    year: int | None = None
    raised_by: tuple[str, ...] = ()
    raised_on: date | None = None
    round: Round | None = None

    @property
    def awaiting_answer(self) -> bool:
        """Forwarded (or reopened) and not answered by the main department yet."""
        return self.status in ("forwarded", "received", "reopened")


def _on_round(state: FeedbackState, **changes: object) -> FeedbackState:
    assert state.round is not None
    return replace(state, round=replace(state.round, **changes))


def evolve(state: FeedbackState, event: Event) -> FeedbackState:
    """The item after one more event."""
    match event:
        case FeedbackSubmitted():
            return replace(state, feedback_id=event.feedback_id, status="submitted", year=event.year,
                           raised_by=tuple(event.raised_by), raised_on=event.raised_on)
        case FeedbackForwarded():
            rnd = Round(event.round, event.main_department, tuple(event.co_departments), event.forwarded_on,
                        event.due_on)
            return replace(state, status="forwarded", round=rnd)
        case FeedbackReceived():
            assert state.round is not None
            new = _on_round(state, received_by=state.round.received_by | {event.dept_code})
            return replace(new, status="received") if event.role == "main" and state.awaiting_answer else new
        case FeedbackAnswered():
            return replace(_on_round(state, answered_on=local_date(event.answered_at)), status="answered")
        case FeedbackCoReplied():
            assert state.round is not None
            return _on_round(state, co_replied=state.round.co_replied | {event.dept_code})
        case ReminderSent():
            return _on_round(state, reminded=True)
        case FeedbackOverdue():
            return _on_round(state, overdue_notified=True)
        case FeedbackReopened():
            rnd = Round(event.round, event.main_department, tuple(event.co_departments), event.reopened_on,
                        event.due_on)
            return replace(state, status="reopened", round=rnd)
        case FeedbackClosed():
            return replace(state, status="closed")
    return state
