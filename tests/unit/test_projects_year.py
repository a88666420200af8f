"""The Year aggregate: opening with derived defaults, adjusting with a reason, closing (given/when/then)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pydantic
import pytest

from services.projects.year import add_month, year_decider
from shared.contracts.projects import (
    AdjustYearCalendar, CloseYear, OpenYear, PhaseWindow, YearCalendarAdjusted, YearClosed, YearOpened,
)
from shared.errors import Conflict, NotFound, ValidationFailed
from tests.support import given
from tests.unit.test_projects_domain import CALENDAR

OPEN = OpenYear(year=2026, session_start=date(2026, 1, 17), session_end=date(2026, 1, 20))
OPENED = YearOpened(year=2026, calendar=CALENDAR)
DECEMBER = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)


def test_opening_derives_the_plan_deadline_and_the_default_phases():
    given(year_decider).when(OPEN).then(OPENED)


def test_the_calendar_answers_the_phase_of_any_date():
    assert [CALENDAR.phase_of(date(2026, m, 15)) for m in (1, 3, 6, 12)] == [
        "before", "mobilisation", "supervision", "summary"]


def test_plan_deadline_is_one_calendar_month_after_the_session():
    assert add_month(date(2026, 1, 31)) == date(2026, 2, 28)
    assert add_month(date(2026, 12, 15)) == date(2027, 1, 15)


def test_a_session_ending_in_february_moves_the_start_of_mobilisation():
    events = given(year_decider).when(OPEN.model_copy(update={"session_end": date(2026, 2, 10)})).then(
        YearOpened(year=2026, calendar=CALENDAR.model_copy(update={
            "session_end": date(2026, 2, 10), "plan_deadline": date(2026, 3, 10),
            "mobilisation": PhaseWindow(start=date(2026, 2, 11), end=date(2026, 3, 31))})))
    assert events[0].calendar.phase_of(date(2026, 2, 10)) == "before"


def test_explicit_windows_replace_the_defaults():
    supervision = PhaseWindow(start=date(2026, 4, 15), end=date(2026, 11, 20))
    events = given(year_decider).when(OPEN.model_copy(update={"supervision": supervision})).then(
        YearOpened(year=2026, calendar=CALENDAR.model_copy(update={"supervision": supervision})))
    assert events[0].calendar.supervision == supervision


def test_a_session_ending_after_march_needs_explicit_mobilisation():
    err = given(year_decider).when(OPEN.model_copy(update={"session_end": date(2026, 4, 2)})).raises(
        ValidationFailed)
    assert err.details[0]["code"] == "mobilisation_required"


def test_overlapping_or_misplaced_windows_are_refused():
    cmd = OPEN.model_copy(update={
        "supervision": PhaseWindow(start=date(2026, 3, 1), end=date(2026, 12, 5)),
        "plan_deadline": date(2026, 1, 19)})
    err = given(year_decider).when(cmd).raises(ValidationFailed)
    assert {d["code"] for d in err.details} == {"phases_overlap", "plan_deadline_before_session_end"}


def test_a_session_outside_the_year_is_refused():
    cmd = OPEN.model_copy(update={"year": 2027})
    err = given(year_decider).when(cmd, now=datetime(2027, 2, 1, tzinfo=UTC)).raises(ValidationFailed)
    assert "date_outside_year" in {d["code"] for d in err.details}


def test_a_session_in_the_future_is_refused():
    err = given(year_decider).when(OPEN, now=datetime(2026, 1, 10, tzinfo=UTC)).raises(ValidationFailed)
    assert err.details[0]["code"] == "date_in_future"


def test_opening_twice_is_a_conflict():
    err = given(year_decider, OPENED).when(OPEN).raises(Conflict)
    assert err.details[0]["code"] == "year_already_open"


def test_adjusting_replaces_the_calendar_whole_and_keeps_the_reason():
    cmd = AdjustYearCalendar(year=2026, reason="人代会推迟闭幕", plan_deadline=date(2026, 2, 28))
    given(year_decider, OPENED).when(cmd).then(YearCalendarAdjusted(
        year=2026, calendar=CALENDAR.model_copy(update={"plan_deadline": date(2026, 2, 28)}), reason="人代会推迟闭幕"))


def test_adjusting_needs_a_reason():
    with pytest.raises(pydantic.ValidationError):
        AdjustYearCalendar(year=2026, reason="", plan_deadline=date(2026, 2, 28))


def test_an_adjustment_that_changes_nothing_is_refused():
    cmd = AdjustYearCalendar(year=2026, reason="核对", plan_deadline=CALENDAR.plan_deadline)
    assert given(year_decider, OPENED).when(cmd).raises(Conflict).details[0]["code"] == "no_change"


def test_an_adjustment_breaking_the_calendar_is_refused():
    cmd = AdjustYearCalendar(year=2026, reason="调整", summary=PhaseWindow(start=date(2026, 11, 1), end=date(2026, 12, 31)))
    assert given(year_decider, OPENED).when(cmd).raises(ValidationFailed).details[0]["code"] == "phases_overlap"


def test_adjusting_a_year_not_opened_is_refused():
    cmd = AdjustYearCalendar(year=2026, reason="调整", plan_deadline=date(2026, 2, 28))
    assert given(year_decider).when(cmd).raises(NotFound).details[0]["code"] == "year_not_open"


def test_closing_waits_for_the_summary_phase():
    err = given(year_decider, OPENED).when(CloseYear(year=2026)).raises(Conflict)
    assert err.details[0]["code"] == "summary_not_started"
    given(year_decider, OPENED).when(CloseYear(year=2026), now=DECEMBER).then(YearClosed(year=2026))


def test_a_closed_year_is_neither_adjusted_nor_closed_again():
    cmd = AdjustYearCalendar(year=2026, reason="调整", plan_deadline=date(2026, 2, 28))
    history = (OPENED, YearClosed(year=2026))
    assert given(year_decider, *history).when(cmd, now=DECEMBER).raises(Conflict).details[0]["code"] == "year_closed"
    assert given(year_decider, *history).when(CloseYear(year=2026), now=DECEMBER).raises(Conflict)
