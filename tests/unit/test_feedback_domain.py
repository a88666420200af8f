"""Feedback decider: submission, forwarding, receipts, answers, rating and reopening (given/when/then)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.feedback.domain import feedback_decider
from services.feedback.state import Policy
from shared.contracts.feedback import (
    AcknowledgeFeedback,
    AnswerFeedback,
    FeedbackAnswered,
    FeedbackClosed,
    FeedbackCoReplied,
    FeedbackForwarded,
    FeedbackRated,
    FeedbackReceived,
    FeedbackReopened,
    FeedbackSubmitted,
    ForwardFeedback,
    RateFeedback,
    RecordActivityOpinion,
    SubmitFeedback,
)
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.support import given

POLICY = Policy(due_days=30, reminder_days=3, max_rounds=2)
DECIDER = feedback_decider(POLICY)
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Jinghong
FID = "fb-001"

SUBMIT = SubmitFeedback(feedback_id=FID, year=2026, source="delegate", project_id="project-2026-01", category="进度",
                        content="施工围挡占用人行道，群众出行不便", raised_by=["d001", "d002"], raised_on=date(2026, 5, 10))
SUBMITTED = FeedbackSubmitted(feedback_id=FID, year=2026, source="delegate", project_id="project-2026-01",
                              category="进度", content="施工围挡占用人行道，群众出行不便", raised_by=["d001", "d002"],
                              raised_on=date(2026, 5, 10))
FORWARD = ForwardFeedback(feedback_id=FID, main_department="jhzjj", co_departments=["jhcgj"],
                          forwarded_on=date(2026, 5, 12))
FORWARDED = FeedbackForwarded(feedback_id=FID, round=1, main_department="jhzjj", co_departments=["jhcgj"],
                              forwarded_on=date(2026, 5, 12), due_on=date(2026, 6, 11))
AT = datetime(2026, 5, 20, 1, 0, tzinfo=UTC)
RECEIVED = FeedbackReceived(feedback_id=FID, round=1, dept_code="jhzjj", role="main", received_at=AT)
ANSWERED = FeedbackAnswered(feedback_id=FID, round=1, dept_code="jhzjj", answered_at=AT + timedelta(days=5),
                            result="adopted", content="已调整围挡，恢复人行通道")


def answer(dept: str = "jhzjj", at: datetime = AT + timedelta(days=5), **kw) -> AnswerFeedback:
    return AnswerFeedback(feedback_id=FID, dept_code=dept, answered_at=at, result="adopted",
                          content="已调整围挡，恢复人行通道", **kw)


def rate(rating: str, **kw) -> RateFeedback:
    return RateFeedback(feedback_id=FID, rated_by="d001", rating=rating, rated_on=date(2026, 5, 28), **kw)


# --- submission --------------------------------------------------------------------------------


def test_submit_records_the_item():
    given(DECIDER).when(SUBMIT, now=NOW).then(SUBMITTED)


def test_submitting_the_same_id_twice_is_a_conflict():
    given(DECIDER, SUBMITTED).when(SUBMIT, now=NOW).raises(Conflict)


@pytest.mark.parametrize(("update", "field"), [
    ({"raised_on": date(2026, 6, 2)}, "raised_on"),  # future
    ({"raised_on": date(2025, 12, 30)}, "raised_on"),  # another year
    ({"source": "group"}, "group_id"),
    ({"source": "public"}, "public_source"),
    ({"raised_by": ["d001", "d001"]}, "raised_by"),
])
def test_submission_rules(update, field):
    err = given(DECIDER).when(SUBMIT.model_copy(update=update), now=NOW).raises(ValidationFailed)
    assert [d["field"] for d in err.details] == [field]


def test_activity_opinion_becomes_an_item_once():
    cmd = RecordActivityOpinion(feedback_id=FID, activity_id="a1", opinion_id="o1", year=2026, category="建议",
                                content="增加夜间施工降噪措施", raised_by=["d003"], raised_on=date(2026, 5, 9))
    [event] = given(DECIDER).when(cmd, now=NOW).then(FeedbackSubmitted(
        feedback_id=FID, year=2026, source="activity", category="建议", content="增加夜间施工降噪措施",
        raised_by=["d003"], activity_id="a1", opinion_id="o1", raised_on=date(2026, 5, 9)))
    given(DECIDER, event).when(cmd, now=NOW).then()


# --- forwarding --------------------------------------------------------------------------------


def test_forward_defaults_the_due_date_from_the_policy():
    given(DECIDER, SUBMITTED).when(FORWARD, now=NOW).then(FORWARDED)


def test_forward_defaults_to_today_and_takes_an_explicit_due_date():
    cmd = FORWARD.model_copy(update={"forwarded_on": None, "due_on": date(2026, 6, 20)})
    given(DECIDER, SUBMITTED).when(cmd, now=NOW).then(
        FORWARDED.model_copy(update={"forwarded_on": date(2026, 6, 1), "due_on": date(2026, 6, 20)}))


@pytest.mark.parametrize(("update", "field"), [
    ({"forwarded_on": date(2026, 6, 2)}, "forwarded_on"),  # future
    ({"forwarded_on": date(2026, 5, 9)}, "forwarded_on"),  # before it was raised
    ({"due_on": date(2026, 5, 12)}, "due_on"),  # not after forwarding
    ({"co_departments": ["jhzjj"]}, "co_departments"),  # main is not a co-department
    ({"co_departments": ["jhcgj", "jhcgj"]}, "co_departments"),
])
def test_forwarding_rules(update, field):
    err = given(DECIDER, SUBMITTED).when(FORWARD.model_copy(update=update), now=NOW).raises(ValidationFailed)
    assert [d["field"] for d in err.details] == [field]


def test_only_a_submitted_item_is_forwarded():
    given(DECIDER).when(FORWARD, now=NOW).raises(NotFound)
    given(DECIDER, SUBMITTED, FORWARDED).when(FORWARD, now=NOW).raises(Conflict)


# --- department receipts and answers -----------------------------------------------------------


def test_main_department_receipt_moves_the_item_to_received():
    cmd = AcknowledgeFeedback(feedback_id=FID, dept_code="jhzjj", received_at=AT)
    given(DECIDER, SUBMITTED, FORWARDED).when(cmd, now=NOW).then(RECEIVED)
    assert DECIDER.fold([SUBMITTED, FORWARDED, RECEIVED]).status == "received"


def test_co_department_receipt_is_recorded_without_changing_the_status():
    cmd = AcknowledgeFeedback(feedback_id=FID, dept_code="jhcgj", received_at=AT)
    [event] = given(DECIDER, SUBMITTED, FORWARDED).when(cmd, now=NOW).then(
        RECEIVED.model_copy(update={"dept_code": "jhcgj", "role": "co"}))
    assert DECIDER.fold([SUBMITTED, FORWARDED, event]).status == "forwarded"


def test_a_department_the_item_was_not_forwarded_to_is_refused():
    receipt = AcknowledgeFeedback(feedback_id=FID, dept_code="jhjyj", received_at=AT)
    err = given(DECIDER, SUBMITTED, FORWARDED).when(receipt, now=NOW).raises(Forbidden)
    assert "未交办给本单位" in err.message
    given(DECIDER, SUBMITTED, FORWARDED).when(answer("jhjyj"), now=NOW).raises(Forbidden)
    given(DECIDER, SUBMITTED).when(answer(), now=NOW).raises(Forbidden)  # not forwarded at all yet
    given(DECIDER).when(answer(), now=NOW).raises(NotFound)


def test_a_receipt_is_given_once_per_round():
    cmd = AcknowledgeFeedback(feedback_id=FID, dept_code="jhzjj", received_at=AT)
    given(DECIDER, SUBMITTED, FORWARDED, RECEIVED).when(cmd, now=NOW).raises(Conflict)


@pytest.mark.parametrize("at", [NOW + timedelta(minutes=1), datetime(2026, 5, 11, 15, 59, tzinfo=UTC)])
def test_receipt_time_is_not_in_the_future_nor_before_forwarding(at):
    cmd = AcknowledgeFeedback(feedback_id=FID, dept_code="jhzjj", received_at=at)
    err = given(DECIDER, SUBMITTED, FORWARDED).when(cmd, now=NOW).raises(ValidationFailed)
    assert err.details[0]["field"] == "received_at"


def test_main_department_answers_with_or_without_a_receipt():
    given(DECIDER, SUBMITTED, FORWARDED, RECEIVED).when(answer(), now=NOW).then(ANSWERED)
    given(DECIDER, SUBMITTED, FORWARDED).when(answer(), now=NOW).then(ANSWERED)
    assert DECIDER.fold([SUBMITTED, FORWARDED, ANSWERED]).status == "answered"


def test_an_answer_after_the_due_date_is_marked_late():
    late_at = datetime(2026, 6, 11, 16, 30, tzinfo=UTC)  # 00:30 on 12 June in Jinghong
    [event] = given(DECIDER, SUBMITTED, FORWARDED).when(answer(at=late_at), now=datetime(2026, 6, 13, tzinfo=UTC)).then(
        ANSWERED.model_copy(update={"answered_at": late_at, "late": True}))
    assert event.late


def test_the_main_department_answers_once_per_round():
    given(DECIDER, SUBMITTED, FORWARDED, ANSWERED).when(answer(), now=NOW).raises(Conflict)


def test_a_co_department_reply_is_its_contribution():
    [event] = given(DECIDER, SUBMITTED, FORWARDED).when(answer("jhcgj"), now=NOW).then(FeedbackCoReplied(
        feedback_id=FID, round=1, dept_code="jhcgj", answered_at=AT + timedelta(days=5), result="adopted",
        content="已调整围挡，恢复人行通道"))
    assert DECIDER.fold([SUBMITTED, FORWARDED, event]).status == "forwarded"
    given(DECIDER, SUBMITTED, FORWARDED, event).when(answer("jhcgj"), now=NOW).raises(Conflict)


def test_planned_date_is_not_before_the_answer():
    err = given(DECIDER, SUBMITTED, FORWARDED).when(answer(planned_by=date(2026, 5, 1)), now=NOW).raises(
        ValidationFailed)
    assert err.details[0]["field"] == "planned_by"


# --- rating, reopening, closing -----------------------------------------------------------------


def test_satisfied_rating_closes_the_item():
    given(DECIDER, SUBMITTED, FORWARDED, ANSWERED).when(rate("satisfied"), now=NOW).then(
        FeedbackRated(feedback_id=FID, round=1, rated_by="d001", rating="satisfied", rated_on=date(2026, 5, 28)),
        FeedbackClosed(feedback_id=FID, round=1, rating="satisfied", closed_on=date(2026, 5, 28)),
    )


def test_basically_satisfied_also_closes():
    events = given(DECIDER, SUBMITTED, FORWARDED, ANSWERED).when(rate("basically_satisfied"), now=NOW)._decide()
    assert DECIDER.fold([SUBMITTED, FORWARDED, ANSWERED, *events]).status == "closed"


def test_unsatisfied_rating_reopens_for_a_second_round_with_a_new_due_date():
    events = given(DECIDER, SUBMITTED, FORWARDED, ANSWERED).when(rate("unsatisfied", comment="围挡仍未撤除"), now=NOW).then(
        FeedbackRated(feedback_id=FID, round=1, rated_by="d001", rating="unsatisfied", comment="围挡仍未撤除",
                      rated_on=date(2026, 5, 28)),
        FeedbackReopened(feedback_id=FID, round=2, main_department="jhzjj", co_departments=["jhcgj"],
                         reopened_on=date(2026, 5, 28), due_on=date(2026, 6, 27), reason="围挡仍未撤除"),
    )
    state = DECIDER.fold([SUBMITTED, FORWARDED, ANSWERED, *events])
    assert state.status == "reopened" and state.round.number == 2 and state.round.received_by == frozenset()
    # the departments acknowledge and answer again in the new round
    receipt = AcknowledgeFeedback(feedback_id=FID, dept_code="jhzjj", received_at=datetime(2026, 5, 29, tzinfo=UTC))
    history = [SUBMITTED, FORWARDED, RECEIVED, ANSWERED, *events]
    [again] = given(DECIDER, *history).when(receipt, now=NOW)._decide()
    assert again.round == 2


def test_unsatisfied_takes_an_explicit_new_due_date():
    cmd = rate("unsatisfied", comment="未解决", new_due_on=date(2026, 6, 15))
    events = given(DECIDER, SUBMITTED, FORWARDED, ANSWERED).when(cmd, now=NOW)._decide()
    assert events[-1].due_on == date(2026, 6, 15)


def test_unsatisfied_in_the_last_round_closes_the_item_as_unsatisfied():
    reopened = FeedbackReopened(feedback_id=FID, round=2, main_department="jhzjj", reopened_on=date(2026, 5, 26),
                                due_on=date(2026, 6, 25))
    answered2 = ANSWERED.model_copy(update={"round": 2, "answered_at": datetime(2026, 5, 27, tzinfo=UTC)})
    history = [SUBMITTED, FORWARDED, ANSWERED, reopened, answered2]
    events = given(DECIDER, *history).when(rate("unsatisfied", comment="仍不满意"), now=NOW)._decide()
    assert [type(e).__name__ for e in events] == ["FeedbackRated", "FeedbackClosed"]
    assert events[-1].rating == "unsatisfied" and DECIDER.fold([*history, *events]).status == "closed"


def test_unsatisfied_needs_a_reason():
    err = given(DECIDER, SUBMITTED, FORWARDED, ANSWERED).when(rate("unsatisfied"), now=NOW).raises(ValidationFailed)
    assert err.details[0]["field"] == "comment"


@pytest.mark.parametrize(("cmd", "field"), [
    (rate("satisfied", new_due_on=date(2026, 7, 1)), "new_due_on"),  # only a reopened item gets one
    (rate("unsatisfied", comment="x", new_due_on=date(2026, 5, 28)), "new_due_on"),
    (rate("satisfied").model_copy(update={"rated_on": date(2026, 6, 2)}), "rated_on"),  # future
    (rate("satisfied").model_copy(update={"rated_on": date(2026, 5, 20)}), "rated_on"),  # before the answer
])
def test_rating_rules(cmd, field):
    err = given(DECIDER, SUBMITTED, FORWARDED, ANSWERED).when(cmd, now=NOW).raises(ValidationFailed)
    assert [d["field"] for d in err.details] == [field]


def test_only_who_raised_it_rates():
    cmd = rate("satisfied").model_copy(update={"rated_by": "d009"})
    given(DECIDER, SUBMITTED, FORWARDED, ANSWERED).when(cmd, now=NOW).raises(Forbidden)


def test_an_unanswered_item_is_not_rated():
    given(DECIDER, SUBMITTED, FORWARDED, RECEIVED).when(rate("satisfied"), now=NOW).raises(Conflict)


def test_a_closed_item_refuses_everything():
    closed = [SUBMITTED, FORWARDED, ANSWERED,
              FeedbackRated(feedback_id=FID, round=1, rated_by="d001", rating="satisfied", rated_on=date(2026, 5, 28)),
              FeedbackClosed(feedback_id=FID, round=1, rating="satisfied", closed_on=date(2026, 5, 28))]
    given(DECIDER, *closed).when(rate("satisfied"), now=NOW).raises(Conflict)
    given(DECIDER, *closed).when(answer("jhcgj"), now=NOW).raises(Conflict)
    given(DECIDER, *closed).when(AcknowledgeFeedback(feedback_id=FID, dept_code="jhzjj", received_at=AT),
                                 now=NOW).raises(Conflict)
