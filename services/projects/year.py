"""The Year aggregate: a campaign calendar opened from the congress session, adjusted with reasons, closed."""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from services.projects.rules import Problems, refuse
from shared.contracts.base import Command, Event
from shared.contracts.projects import (
    AdjustYearCalendar, CloseYear, OpenYear, PhaseWindow, YearCalendar, YearCalendarAdjusted, YearClosed, YearOpened,
)
from shared.decider import DecisionContext, Decider
from shared.errors import Conflict, NotFound
from shared.timeutil import local_date

PHASES = ("mobilisation", "supervision", "summary")


@dataclass(frozen=True)
class YearState:
    """A year's calendar as the rules of every project of the year need it."""

    year: int | None = None
    calendar: YearCalendar | None = None
    closed: bool = False

    @property
    def opened(self) -> bool:
        """Whether the year was opened."""
        return self.calendar is not None


def add_month(day: date) -> date:
    """The same day one calendar month later (the month's last day when it is shorter)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def default_calendar(cmd: OpenYear) -> YearCalendar:
    """The calendar of an OpenYear, with the seed's defaults for whatever the command leaves out."""
    year, p = cmd.year, Problems()
    mobilisation = cmd.mobilisation
    if mobilisation is None:
        start = max(date(year, 2, 1), cmd.session_end + timedelta(days=1))
        if start > date(year, 3, 31):
            p.add("mobilisation", "人代会在3月底之后闭幕，须明确动员阶段起止日期",
                  "the session ends after March: give the mobilisation window explicitly", code="mobilisation_required")
        else:
            mobilisation = PhaseWindow(start=start, end=date(year, 3, 31))
    p.raise_if_any("年度日历有误", "invalid year calendar")
    assert mobilisation is not None
    return YearCalendar(
        session_start=cmd.session_start, session_end=cmd.session_end,
        plan_deadline=cmd.plan_deadline or add_month(cmd.session_end),
        mobilisation=mobilisation,
        supervision=cmd.supervision or PhaseWindow(start=date(year, 4, 1), end=date(year, 11, 30)),
        summary=cmd.summary or PhaseWindow(start=date(year, 12, 1), end=date(year, 12, 31)),
        evaluation=cmd.evaluation,
    )


def check_calendar(year: int, cal: YearCalendar) -> None:
    """Refuse a calendar whose dates are outside the year, out of order or overlapping."""
    p = Problems()
    if cal.session_start.year != year:
        p.add("session_start", f"人代会开幕日期不在 {year} 年", f"the session does not open in {year}",
              code="date_outside_year")
    if cal.session_end < cal.session_start:
        p.add("session_end", "人代会闭幕早于开幕", "the session ends before it opens", code="session_order")
    if cal.plan_deadline <= cal.session_end:
        p.add("plan_deadline", "计划报送截止日须在人代会闭幕之后",
              "the plan deadline must come after the session ends", code="plan_deadline_before_session_end")
    if cal.plan_deadline.year != year:
        p.add("plan_deadline", f"计划报送截止日不在 {year} 年", f"the plan deadline is outside {year}",
              code="date_outside_year")
    windows = [(name, getattr(cal, name)) for name in PHASES]
    if cal.evaluation is not None:
        windows.append(("evaluation", cal.evaluation))
    for name, w in windows:
        if w.start.year != year or w.end.year != year:
            p.add(name, f"{name} 阶段不在 {year} 年内", f"the {name} window is outside {year}",
                  code="date_outside_year")
    if cal.mobilisation.start <= cal.session_end:
        p.add("mobilisation", "动员阶段须在人代会闭幕之后开始",
              "mobilisation must start after the session ends", code="phase_before_session_end")
    for (a, wa), (b, wb) in zip(windows[:2], windows[1:3], strict=True):
        if wa.end >= wb.start:
            p.add(b, f"{b} 阶段须在 {a} 阶段结束之后开始", f"{b} must start after {a} ends", code="phases_overlap")
    p.raise_if_any("年度日历有误", "invalid year calendar")


def _open(cmd: OpenYear, state: YearState, ctx: DecisionContext) -> list[Event]:
    if state.opened:
        raise refuse(Conflict, "year_already_open", f"{cmd.year} 年度已开启", f"the year {cmd.year} is already open")
    if cmd.session_start > local_date(ctx.now):
        p = Problems()
        p.add("session_start", "人代会开幕日期在将来", "the session opening is in the future", code="date_in_future")
        p.raise_if_any("年度日历有误", "invalid year calendar")
    cal = default_calendar(cmd)
    check_calendar(cmd.year, cal)
    return [YearOpened(year=cmd.year, calendar=cal, evaluation_scope=cmd.evaluation_scope)]


def require_open_year(state: YearState, year: int) -> YearCalendar:
    """The calendar of a year that is open and not closed, or the refusal."""
    if state.calendar is None:
        raise refuse(NotFound, "year_not_open", f"{year} 年度尚未开启", f"the year {year} has not been opened", "year")
    if state.closed:
        raise refuse(Conflict, "year_closed", f"{year} 年度已关闭", f"the year {year} is closed", "year")
    return state.calendar


def _adjust(cmd: AdjustYearCalendar, state: YearState, ctx: DecisionContext) -> list[Event]:
    current = require_open_year(state, cmd.year)
    changes = cmd.model_dump(exclude={"year", "reason"}, exclude_none=True)
    cal = current.model_copy(update={k: getattr(cmd, k) for k in changes})
    if cal == current:
        raise refuse(Conflict, "no_change", "日历没有变化", "the calendar is unchanged")
    check_calendar(cmd.year, cal)
    return [YearCalendarAdjusted(year=cmd.year, calendar=cal, reason=cmd.reason)]


def _close(cmd: CloseYear, state: YearState, ctx: DecisionContext) -> list[Event]:
    cal = require_open_year(state, cmd.year)
    if local_date(ctx.now) < cal.summary.start:
        raise refuse(Conflict, "summary_not_started", f"总结阶段（{cal.summary.start} 起）尚未开始，不能关闭年度",
                     f"the summary phase (from {cal.summary.start}) has not begun: the year cannot close yet")
    return [YearClosed(year=cmd.year)]


def decide(command: Command, state: YearState, ctx: DecisionContext) -> Sequence[Event]:
    """The events a command causes on a year, or the refusal."""
    match command:
        case OpenYear():
            return _open(command, state, ctx)
        case AdjustYearCalendar():
            return _adjust(command, state, ctx)
        case CloseYear():
            return _close(command, state, ctx)
    raise TypeError(f"year cannot decide {type(command).__name__}")


def evolve(state: YearState, event: Event) -> YearState:
    """The year after one more event."""
    match event:
        case YearOpened():
            return YearState(year=event.year, calendar=event.calendar)
        case YearCalendarAdjusted():
            return replace(state, calendar=event.calendar)
        case YearClosed():
            return replace(state, closed=True)
    return state


year_decider: Decider[YearState] = Decider(initial=YearState(), decide=decide, evolve=evolve)
