"""Rules for scheduling, rescheduling, cancelling an activity and inviting delegates to it."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.activities.references import (
    Problems,
    References,
    check_active_delegates,
    check_project,
    check_unique,
    ensure_year_open,
)
from services.activities.state import ActivityState, require_scheduled
from shared.contracts.activities import (
    ActivityCancelled,
    ActivityRescheduled,
    ActivityScheduled,
    CancelActivity,
    DelegatesInvited,
    InviteDelegates,
    RescheduleActivity,
    ScheduleActivity,
)
from shared.errors import Conflict, ValidationFailed
from shared.timeutil import local_date

MAX_DURATION = timedelta(days=30)  # longer is a typing mistake, not an activity
FORMS = {  # meeting forms the seed names per kind; other kinds have none
    "mobilisation": {"动员会", "座谈会", "讨论会"},
    "summary": {"交流会", "座谈会", "研讨会", "总结会"},
}


def check_window(problems: Problems, year: int, starts_at: datetime, ends_at: datetime) -> None:
    """Note a time window that is reversed, too long, or outside the year."""
    if ends_at <= starts_at:
        problems.add("ends_at", "结束时间须晚于开始时间", "the activity must end after it starts")
    elif ends_at - starts_at > MAX_DURATION:
        problems.add("ends_at", "活动时长不能超过30天", "an activity cannot last more than 30 days")
    if local_date(starts_at).year != year:
        problems.add("starts_at", f"开始日期不在 {year} 年度内", f"the start is outside the year {year}")
    if local_date(ends_at).year != year:
        problems.add("ends_at", f"结束日期不在 {year} 年度内", f"the end is outside the year {year}")


def schedule(cmd: ScheduleActivity, state: ActivityState, refs: References) -> list[ActivityScheduled]:
    """Schedule a new activity; its phase comes from the year's calendar."""
    assert cmd.activity_id, "the handler gives every new activity its id"
    if state.status != "none":
        raise Conflict("活动已存在 / the activity already exists", {"activity_id": cmd.activity_id})
    ensure_year_open(refs, cmd.year)
    problems = Problems()
    calendar = refs.calendars.get(cmd.year)
    if calendar is None:
        problems.add("year", f"{cmd.year} 年度尚未开启", f"the year {cmd.year} has not been opened")
    check_window(problems, cmd.year, cmd.starts_at, cmd.ends_at)
    allowed = FORMS.get(cmd.kind, set())
    if cmd.form is not None and cmd.form not in allowed:
        problems.add("form", f"{cmd.form} 不是该类活动的会议形式", f"{cmd.form} is not a form of a {cmd.kind} activity")
    check_unique(problems, "project_ids", cmd.project_ids)
    for i, project_id in enumerate(cmd.project_ids):
        check_project(problems, refs, f"project_ids.{i}", project_id, cmd.year, local_date(cmd.starts_at))
    check_unique(problems, "group_ids", cmd.group_ids)
    for i, group_id in enumerate(cmd.group_ids):
        group = refs.groups.get(group_id)
        if group is None:
            problems.add(f"group_ids.{i}", f"未知代表小组 {group_id}", f"unknown group {group_id}")
        elif group.year != cmd.year:
            problems.add(f"group_ids.{i}", f"代表小组 {group.name} 不属于 {cmd.year} 年度",
                         f"group {group_id} is not of the year {cmd.year}")
    problems.raise_if_any("活动安排有误", "invalid activity")
    assert calendar is not None
    return [ActivityScheduled(
        activity_id=cmd.activity_id, year=cmd.year, kind=cmd.kind, form=cmd.form, title=cmd.title,
        project_ids=cmd.project_ids, group_ids=cmd.group_ids, organiser=cmd.organiser, starts_at=cmd.starts_at,
        ends_at=cmd.ends_at, place=cmd.place, phase=calendar.phase_of(local_date(cmd.starts_at)),
        description=cmd.description,
    )]


def _require_nothing_recorded(state: ActivityState, doing: tuple[str, str]) -> None:
    if state.recorded_anything:
        raise Conflict(f"活动已有出席或成果记录，不能{doing[0]} / the activity already took place: cannot {doing[1]}",
                       {"activity_id": state.activity_id})


def reschedule(cmd: RescheduleActivity, state: ActivityState, refs: References) -> list[ActivityRescheduled]:
    """Move an activity that has nothing recorded yet; its phase follows the new date."""
    require_scheduled(state)
    ensure_year_open(refs, state.year)
    _require_nothing_recorded(state, ("改期", "reschedule"))
    place = cmd.place or state.place
    if (cmd.starts_at, cmd.ends_at, place) == (state.starts_at, state.ends_at, state.place):
        raise ValidationFailed("改期内容与原安排相同 / nothing changes", [
            {"field": "starts_at", "message": "时间和地点与原安排相同 / same time and place as scheduled"}])
    problems = Problems()
    check_window(problems, state.year, cmd.starts_at, cmd.ends_at)
    calendar = refs.calendars.get(state.year)
    if calendar is None:
        problems.add("starts_at", f"{state.year} 年度日历未知", f"the calendar of {state.year} is unknown")
    problems.raise_if_any("改期有误", "invalid reschedule")
    assert calendar is not None
    return [ActivityRescheduled(activity_id=cmd.activity_id, starts_at=cmd.starts_at, ends_at=cmd.ends_at, place=place,
                                phase=calendar.phase_of(local_date(cmd.starts_at)), reason=cmd.reason)]


def cancel(cmd: CancelActivity, state: ActivityState, refs: References) -> list[ActivityCancelled]:
    """Call off an activity that did not take place."""
    require_scheduled(state)
    ensure_year_open(refs, state.year)
    _require_nothing_recorded(state, ("取消", "cancel"))
    return [ActivityCancelled(activity_id=cmd.activity_id, reason=cmd.reason)]


def invite(cmd: InviteDelegates, state: ActivityState, refs: References) -> list[DelegatesInvited]:
    """Invite named delegates (refused if not in office) and whole groups (their members in office)."""
    require_scheduled(state)
    ensure_year_open(refs, state.year)
    problems = Problems()
    day = state.day
    chosen: list[str] = []
    skipped: list[str] = []
    for i, group_id in enumerate(cmd.group_ids):
        group = refs.groups.get(group_id)
        if group is None:
            problems.add(f"group_ids.{i}", f"未知代表小组 {group_id}", f"unknown group {group_id}")
            continue
        if group.year != state.year:
            problems.add(f"group_ids.{i}", f"代表小组 {group.name} 不属于 {state.year} 年度",
                         f"group {group_id} is not of the year {state.year}")
            continue
        for member in group.members:
            ref = refs.delegates.get(member)
            (chosen if ref is not None and ref.active_on(day) else skipped).append(member)
    check_unique(problems, "delegate_ids", cmd.delegate_ids)
    check_active_delegates(problems, refs, "delegate_ids", cmd.delegate_ids, day)
    problems.raise_if_any("邀请有误（不在任的代表不能邀请）", "invalid invitation (inactive delegates cannot be invited)")
    chosen += cmd.delegate_ids
    already = state.invited | set(state.attendance)
    new = [d for d in dict.fromkeys(chosen) if d not in already]
    if not new:
        return []
    return [DelegatesInvited(activity_id=cmd.activity_id, delegate_ids=new, group_ids=cmd.group_ids,
                             skipped_inactive=sorted(set(skipped) - set(new)))]
