"""Deadline rules: a reminder N days before the due date and an overdue notice, each once per round."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.feedback.deadlines import is_overdue
from services.feedback.sweeper import occurred_at
from shared.contracts.feedback import CheckDeadlines, FeedbackOverdue, FeedbackReopened, ReminderSent
from shared.timeutil import start_of_day
from tests.support import given
from tests.unit.test_feedback_domain import ANSWERED, DECIDER, FID, FORWARDED, RECEIVED, SUBMITTED

DUE = FORWARDED.due_on  # 2026-06-11, reminders 3 days before
DEPTS = ["jhzjj", "jhcgj"]
REMINDER = ReminderSent(feedback_id=FID, round=1, departments=DEPTS, due_on=DUE, days_left=3, as_of=date(2026, 6, 8))
OVERDUE = FeedbackOverdue(feedback_id=FID, round=1, departments=DEPTS, due_on=DUE, as_of=date(2026, 6, 12))


def check(day: date) -> CheckDeadlines:
    return CheckDeadlines(as_of=day)


def test_nothing_is_due_before_the_reminder_window():
    given(DECIDER, SUBMITTED, FORWARDED).when(check(date(2026, 6, 7))).then()


def test_reminder_n_days_before_the_due_date_once():
    given(DECIDER, SUBMITTED, FORWARDED).when(check(date(2026, 6, 8))).then(REMINDER)
    given(DECIDER, SUBMITTED, FORWARDED, REMINDER).when(check(date(2026, 6, 9))).then()
    given(DECIDER, SUBMITTED, FORWARDED, REMINDER).when(check(DUE)).then()


def test_a_reminder_missed_during_its_window_is_still_sent_before_the_due_date():
    given(DECIDER, SUBMITTED, FORWARDED, RECEIVED).when(check(DUE)).then(
        REMINDER.model_copy(update={"days_left": 0, "as_of": DUE}))


def test_overdue_notice_once_when_the_due_date_has_passed():
    given(DECIDER, SUBMITTED, FORWARDED, REMINDER).when(check(date(2026, 6, 12))).then(OVERDUE)
    given(DECIDER, SUBMITTED, FORWARDED, REMINDER, OVERDUE).when(check(date(2026, 6, 13))).then()
    given(DECIDER, SUBMITTED, FORWARDED, REMINDER, OVERDUE).when(check(date(2026, 9, 1))).then()


def test_past_due_without_a_reminder_gets_only_the_overdue_notice():
    given(DECIDER, SUBMITTED, FORWARDED).when(check(date(2026, 7, 1))).then(
        OVERDUE.model_copy(update={"as_of": date(2026, 7, 1)}))


def test_answered_or_unforwarded_items_get_no_notices():
    given(DECIDER, SUBMITTED).when(check(date(2026, 7, 1))).then()
    given(DECIDER, SUBMITTED, FORWARDED, ANSWERED).when(check(date(2026, 7, 1))).then()


def test_a_reopened_round_is_reminded_and_notified_again():
    reopened = FeedbackReopened(feedback_id=FID, round=2, main_department="jhzjj", co_departments=["jhcgj"],
                                reopened_on=date(2026, 6, 20), due_on=date(2026, 7, 20))
    history = [SUBMITTED, FORWARDED, REMINDER, ANSWERED, reopened]
    given(DECIDER, *history).when(check(date(2026, 7, 18))).then(ReminderSent(
        feedback_id=FID, round=2, departments=DEPTS, due_on=date(2026, 7, 20), days_left=2, as_of=date(2026, 7, 18)))
    given(DECIDER, *history).when(check(date(2026, 7, 21))).then(FeedbackOverdue(
        feedback_id=FID, round=2, departments=DEPTS, due_on=date(2026, 7, 20), as_of=date(2026, 7, 21)))


def test_overdue_is_derived_from_due_date_and_answer():
    assert not is_overdue(DUE, answered=False, as_of=DUE)
    assert is_overdue(DUE, answered=False, as_of=DUE + timedelta(days=1))
    assert not is_overdue(DUE, answered=True, as_of=DUE + timedelta(days=1))
    assert not is_overdue(None, answered=False, as_of=DUE)


def test_an_item_became_overdue_when_its_due_date_ended():
    now = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)
    assert occurred_at(OVERDUE, now) == start_of_day(date(2026, 6, 12))
    assert occurred_at(REMINDER, now) == now
