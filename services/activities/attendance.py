"""Rules for attendance: staff records, delegates' own check-in, walk-ins and corrections."""

from __future__ import annotations

from typing import Any

from services.activities.checkin import check_in_code, code_matches
from services.activities.references import (
    DELEGATE_ACTOR_PREFIX,
    Problems,
    References,
    check_unique,
    ensure_year_open,
    require_self,
)
from services.activities.state import ActivityState, require_scheduled, require_started
from shared.contracts.activities import (
    AttendanceCorrected,
    AttendanceRecorded,
    CheckIn,
    CorrectAttendance,
    RecordAttendance,
)
from shared.decider import DecisionContext
from shared.errors import Conflict, Forbidden, ValidationFailed

def _check_excuse(problems: Problems, field_: str, status: str, excuse_reason: str) -> None:
    if status == "excused" and not excuse_reason.strip():
        problems.add(field_, "请假须填写事由", "an excused absence needs its reason")
    if status != "excused" and excuse_reason.strip():
        problems.add(field_, "只有请假才填写事由", "only an excused absence has a reason")


def _check_walk_in(problems: Problems, refs: References, state: ActivityState, field_: str, delegate_id: str) -> None:
    ref = refs.delegates.get(delegate_id)
    if ref is None:
        problems.add(field_, f"未知代表 {delegate_id}", f"unknown delegate {delegate_id}")
    elif not ref.active_on(state.day):
        problems.add(field_, f"代表 {ref.name} 在 {state.day} 不在任", f"delegate {delegate_id} is not active on {state.day}")


def record(cmd: RecordAttendance, state: ActivityState, refs: References,
           ctx: DecisionContext) -> list[AttendanceRecorded]:
    """Staff record invitees as present, absent or excused; walk-ins as present and not invited."""
    require_scheduled(state)
    ensure_year_open(refs, state.year)
    require_started(state, ctx.now)
    problems = Problems()
    check_unique(problems, "entries.delegate_id", [e.delegate_id for e in cmd.entries])
    recorded = []
    for i, entry in enumerate(cmd.entries):
        at = f"entries.{i}"
        if entry.delegate_id in state.attendance:
            recorded.append(entry.delegate_id)
        _check_excuse(problems, f"{at}.excuse_reason", entry.status, entry.excuse_reason)
        invited = entry.delegate_id in state.invited
        if invited and entry.walk_in:
            problems.add(f"{at}.walk_in", "该代表已受邀请，不是列席", "the delegate was invited: not a walk-in")
        elif not invited and not entry.walk_in:
            problems.add(f"{at}.delegate_id", "该代表未受邀请；未受邀请到场的请标记为列席",
                         "the delegate was not invited; mark uninvited attendees as walk-ins")
        elif not invited:
            if entry.status != "present":
                problems.add(f"{at}.status", "列席代表只能登记为出席", "a walk-in can only be present")
            _check_walk_in(problems, refs, state, f"{at}.delegate_id", entry.delegate_id)
    problems.raise_if_any("出席登记有误", "invalid attendance")
    if recorded:
        raise Conflict("已有出席记录，请使用更正 / attendance already recorded: correct it instead",
                       {"delegate_ids": recorded})
    return [AttendanceRecorded(activity_id=cmd.activity_id, delegate_id=e.delegate_id, status=e.status,
                               excuse_reason=e.excuse_reason, invited=e.delegate_id in state.invited, source="staff")
            for e in cmd.entries]


def check_in(cmd: CheckIn, state: ActivityState, refs: References, ctx: DecisionContext,
             secret: bytes) -> list[AttendanceRecorded]:
    """A delegate checks in with the activity's code while it runs; uninvited ones become walk-ins."""
    require_scheduled(state)
    ensure_year_open(refs, state.year)
    require_self(ctx, cmd.delegate_id)
    assert state.starts_at is not None and state.ends_at is not None and state.activity_id is not None
    if not state.starts_at <= ctx.now <= state.ends_at:
        raise Conflict("签到仅在活动期间开放 / check-in is open only while the activity runs",
                       {"starts_at": state.starts_at.isoformat(), "ends_at": state.ends_at.isoformat()})
    if not code_matches(secret, state.activity_id, state.starts_at, cmd.code):
        raise ValidationFailed("签到码不正确 / wrong check-in code", [{"field": "code", "message": "签到码不正确 / wrong code"}])
    if cmd.delegate_id in state.attendance:
        raise Conflict("已签到或已登记出席情况 / attendance already recorded", {"delegate_id": cmd.delegate_id})
    invited = cmd.delegate_id in state.invited
    if not invited:
        problems = Problems()
        _check_walk_in(problems, refs, state, "delegate_id", cmd.delegate_id)
        problems.raise_if_any("不能签到", "cannot check in")
    return [AttendanceRecorded(activity_id=cmd.activity_id, delegate_id=cmd.delegate_id, status="present",
                               invited=invited, source="check_in")]


def correct(cmd: CorrectAttendance, state: ActivityState, refs: References) -> list[AttendanceCorrected]:
    """Correct a recorded attendance with a reason; the original stays in the history."""
    require_scheduled(state)
    ensure_year_open(refs, state.year)
    current = state.attendance.get(cmd.delegate_id)
    if current is None:
        raise Conflict("该代表尚无出席记录，无可更正 / no attendance recorded for the delegate to correct",
                       {"delegate_id": cmd.delegate_id})
    problems = Problems()
    _check_excuse(problems, "excuse_reason", cmd.status, cmd.excuse_reason)
    if not current.invited and cmd.status != "present":
        problems.add("status", "列席记录只能为出席", "a walk-in can only be present")
    if (cmd.status, cmd.excuse_reason) == (current.status, current.excuse_reason):
        problems.add("status", "与原记录相同", "same as the recorded attendance")
    problems.raise_if_any("出席更正有误", "invalid attendance correction")
    return [AttendanceCorrected(activity_id=cmd.activity_id, delegate_id=cmd.delegate_id,
                                previous_status=current.status, status=cmd.status, excuse_reason=cmd.excuse_reason,
                                reason=cmd.reason)]


def check_in_window(state: ActivityState, secret: bytes, ctx: DecisionContext) -> dict[str, Any]:
    """The code staff show at the activity and the window it is valid in (not for delegates: they check in)."""
    if ctx.actor.startswith(DELEGATE_ACTOR_PREFIX):
        raise Forbidden("签到码由工作人员在活动现场出示 / staff show the check-in code at the activity")
    require_scheduled(state)
    assert state.activity_id is not None and state.starts_at is not None and state.ends_at is not None
    return {"activity_id": state.activity_id, "code": check_in_code(secret, state.activity_id, state.starts_at),
            "valid_from": state.starts_at, "valid_until": state.ends_at}
