"""The state of an activity as its events leave it, and the guards every decision on it shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from shared.contracts.activities import (
    ActivityCancelled,
    ActivityRescheduled,
    ActivityScheduled,
    AttendanceCorrected,
    AttendanceRecorded,
    DelegatesInvited,
    OpinionRaised,
    OutcomeRecorded,
)
from shared.contracts.base import Event
from shared.errors import Conflict, NotFound
from shared.timeutil import local_date


@dataclass(frozen=True)
class Attendance:
    """One delegate's recorded attendance."""

    status: str
    invited: bool
    excuse_reason: str = ""


@dataclass(frozen=True)
class ActivityState:
    """What the rules of an activity need to know about its past."""

    activity_id: str | None = None
    year: int = 0
    kind: str = ""
    project_ids: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    place: str = ""
    status: str = "none"  # none | scheduled | cancelled
    invited: frozenset[str] = frozenset()
    attendance: Mapping[str, Attendance] = field(default_factory=dict)
    outcome_recorded: bool = False
    opinions: int = 0

    @property
    def day(self) -> date:
        """The business date the activity starts on."""
        assert self.starts_at is not None
        return local_date(self.starts_at)

    @property
    def recorded_anything(self) -> bool:
        """Whether attendance, an outcome or opinions were recorded (it took place)."""
        return bool(self.attendance) or self.outcome_recorded or self.opinions > 0


def require_scheduled(state: ActivityState) -> None:
    """Refuse commands on an activity that does not exist or was cancelled."""
    if state.status == "none":
        raise NotFound("活动不存在 / no such activity")
    if state.status == "cancelled":
        raise Conflict("活动已取消 / the activity was cancelled", {"activity_id": state.activity_id})


def require_started(state: ActivityState, now: datetime) -> None:
    """Refuse recording what happened at an activity that has not started yet."""
    assert state.starts_at is not None
    if now < state.starts_at:
        raise Conflict("活动尚未开始，不能记录 / the activity has not started yet",
                       {"starts_at": state.starts_at.isoformat()})


def evolve(state: ActivityState, event: Event) -> ActivityState:
    """The activity after one more event."""
    match event:
        case ActivityScheduled():
            return replace(state, activity_id=event.activity_id, year=event.year, kind=event.kind,
                           project_ids=tuple(event.project_ids), group_ids=tuple(event.group_ids),
                           starts_at=event.starts_at, ends_at=event.ends_at, place=event.place, status="scheduled")
        case ActivityRescheduled():
            return replace(state, starts_at=event.starts_at, ends_at=event.ends_at, place=event.place)
        case ActivityCancelled():
            return replace(state, status="cancelled")
        case DelegatesInvited():
            return replace(state, invited=state.invited | set(event.delegate_ids))
        case AttendanceRecorded():
            record = Attendance(event.status, event.invited, event.excuse_reason)
            return replace(state, attendance={**state.attendance, event.delegate_id: record})
        case AttendanceCorrected():
            old = state.attendance[event.delegate_id]
            record = replace(old, status=event.status, excuse_reason=event.excuse_reason)
            return replace(state, attendance={**state.attendance, event.delegate_id: record})
        case OutcomeRecorded():
            return replace(state, outcome_recorded=True)
        case OpinionRaised():
            return replace(state, opinions=state.opinions + 1)
    return state
