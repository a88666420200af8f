"""Pure deadline rules: the reminder before an item falls due and the overdue notice, each once per round.

Overdue itself is derived (past due and not answered); the notices are events so that departments
are told, and their presence in the item's history is what makes the sweep idempotent.
"""

from __future__ import annotations

from datetime import date, timedelta

from services.feedback.state import FeedbackState, Policy
from shared.contracts.base import Event
from shared.contracts.feedback import FeedbackOverdue, ReminderSent


def is_overdue(due_on: date | None, answered: bool, as_of: date) -> bool:
    """Past its due date and not answered (the due date itself still counts as in time)."""
    return due_on is not None and not answered and as_of > due_on


def check_deadlines(state: FeedbackState, as_of: date, policy: Policy) -> list[Event]:
    """The notice an item needs as of a date: an overdue notice, a reminder, or nothing."""
    rnd = state.round
    if rnd is None or not state.awaiting_answer:
        return []
    departments = list(rnd.departments)
    if is_overdue(rnd.due_on, answered=False, as_of=as_of):
        if rnd.overdue_notified:
            return []
        return [FeedbackOverdue(feedback_id=state.feedback_id, round=rnd.number, departments=departments,
                                due_on=rnd.due_on, as_of=as_of)]
    if not rnd.reminded and as_of >= rnd.due_on - timedelta(days=policy.reminder_days):
        return [ReminderSent(feedback_id=state.feedback_id, round=rnd.number, departments=departments,
                             due_on=rnd.due_on, days_left=(rnd.due_on - as_of).days, as_of=as_of)]
    return []
