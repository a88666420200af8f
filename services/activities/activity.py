"""The Activity aggregate as a decider: schedule, invite, attendance, outcome (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from services.activities import attendance, outcome, scheduling
from services.activities.references import References
from services.activities.state import ActivityState, evolve
from shared.contracts.activities import (
    CancelActivity,
    CheckIn,
    CorrectAttendance,
    InviteDelegates,
    RaiseOpinions,
    RecordAttendance,
    RecordOutcome,
    RescheduleActivity,
    ScheduleActivity,
)
from shared.contracts.base import Command, Event
from shared.decider import DecisionContext, Decider


def activity_decider(refs: References, checkin_secret: bytes) -> Decider[ActivityState]:
    """The decider of an activity, given what it needs of other services' data and the check-in key."""

    def decide(command: Command, state: ActivityState, ctx: DecisionContext) -> Sequence[Event]:
        match command:
            case ScheduleActivity():
                return scheduling.schedule(command, state, refs)
            case RescheduleActivity():
                return scheduling.reschedule(command, state, refs)
            case CancelActivity():
                return scheduling.cancel(command, state, refs)
            case InviteDelegates():
                return scheduling.invite(command, state, refs)
            case RecordAttendance():
                return attendance.record(command, state, refs, ctx)
            case CheckIn():
                return attendance.check_in(command, state, refs, ctx, checkin_secret)
            case CorrectAttendance():
                return attendance.correct(command, state, refs)
            case RecordOutcome():
                return outcome.record_outcome(command, state, refs, ctx.now)
            case RaiseOpinions():
                return outcome.raise_opinions(command, state, refs, ctx.now)
        raise TypeError(f"activities domain cannot decide {type(command).__name__}")

    return Decider(initial=ActivityState(), decide=decide, evolve=evolve)
