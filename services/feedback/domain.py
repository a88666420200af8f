"""Pure rules of a feedback item: decide(command, state, ctx) -> events; the decider built from a Policy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import partial

from services.feedback.deadlines import check_deadlines
from services.feedback.state import FeedbackState, Policy, evolve
from shared.contracts.base import Command, Event
from shared.contracts.feedback import (
    AcknowledgeFeedback,
    AnswerFeedback,
    CheckDeadlines,
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
from shared.decider import DecisionContext, Decider
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.timeutil import local_date

Problems = list[dict[str, str]]


def problem(field: str, message: str) -> dict[str, str]:
    """One field problem of a command ("中文 / English")."""
    return {"field": field, "message": message}


def _refuse(problems: Problems, what: str) -> None:
    if problems:
        raise ValidationFailed(what, problems)


def _existing(state: FeedbackState) -> None:
    if state.status == "none":
        raise NotFound("意见不存在 / no such feedback item")


def _not_closed(state: FeedbackState) -> None:
    if state.status == "closed":
        raise Conflict("该意见已办结 / the item is closed")


def _business_date_checks(field: str, day: date, today: date, not_before: date | None, before_what: str) -> Problems:
    """A business date may not lie in the future, nor before the step it follows."""
    problems = []
    if day > today:
        problems.append(problem(field, "日期不能在将来 / the date is in the future"))
    if not_before is not None and day < not_before:
        problems.append(problem(field, f"日期不能早于{before_what} / the date is before the {before_what}"))
    return problems


def _submit(cmd: SubmitFeedback, state: FeedbackState, ctx: DecisionContext) -> list[Event]:
    if state.status != "none":
        raise Conflict("该意见已登记 / feedback item already recorded", {"feedback_id": cmd.feedback_id})
    if cmd.feedback_id is None:
        raise ValueError("the handler assigns a feedback id before deciding")
    problems = _business_date_checks("raised_on", cmd.raised_on, local_date(ctx.now), None, "")
    if cmd.raised_on.year != cmd.year:
        problems.append(problem("raised_on", "提出日期不在该年度 / the date is outside the year"))
    if cmd.source == "group" and not cmd.group_id:
        problems.append(problem("group_id", "代表小组提出的意见须注明小组 / a group's feedback names the group"))
    if cmd.source == "public" and not cmd.public_source.strip():
        problems.append(problem("public_source", "转达群众意见须注明来源 / relayed public opinion names its source"))
    if len(set(cmd.raised_by)) != len(cmd.raised_by):
        problems.append(problem("raised_by", "提出人重复 / a delegate is named twice"))
    _refuse(problems, "意见登记有误 / invalid feedback")
    return [FeedbackSubmitted(**cmd.model_dump(exclude={"feedback_id"}), feedback_id=cmd.feedback_id)]


def _record_opinion(cmd: RecordActivityOpinion, state: FeedbackState) -> list[Event]:
    if state.status != "none":
        return []  # the same opinion delivered again: already an item
    return [FeedbackSubmitted(source="activity", **cmd.model_dump())]


def _forward(cmd: ForwardFeedback, state: FeedbackState, ctx: DecisionContext, policy: Policy) -> list[Event]:
    _existing(state)
    if state.status != "submitted":
        raise Conflict("只有待交办的意见可以交办 / only a submitted item can be forwarded", {"status": state.status})
    forwarded_on = cmd.forwarded_on or local_date(ctx.now)
    due_on = cmd.due_on or forwarded_on + timedelta(days=policy.due_days)
    problems = _business_date_checks("forwarded_on", forwarded_on, local_date(ctx.now), state.raised_on, "提出日期")
    if due_on <= forwarded_on:
        problems.append(problem("due_on", "办理期限须晚于交办日期 / the due date must follow the forwarding date"))
    if cmd.main_department in cmd.co_departments:
        problems.append(problem("co_departments", "主办单位不能同时是协办单位 / the main department is not a co-department"))
    if len(set(cmd.co_departments)) != len(cmd.co_departments):
        problems.append(problem("co_departments", "协办单位重复 / a co-department is named twice"))
    _refuse(problems, "交办有误 / invalid forwarding")
    return [FeedbackForwarded(feedback_id=state.feedback_id, round=1, main_department=cmd.main_department,
                              co_departments=cmd.co_departments, forwarded_on=forwarded_on, due_on=due_on,
                              note=cmd.note)]


def _department_role(state: FeedbackState, dept: str) -> str:
    """The department's role in the current round; Forbidden if the item was not forwarded to it."""
    _existing(state)
    role = state.round.role_of(dept) if state.round else None
    if role is None:
        raise Forbidden("该意见未交办给本单位 / this item was not forwarded to this department",
                        {"feedback_id": state.feedback_id, "dept_code": dept})
    _not_closed(state)
    return role


def _moment_checks(field: str, moment: datetime, state: FeedbackState, ctx: DecisionContext) -> Problems:
    assert state.round is not None
    if moment > ctx.now:
        return [problem(field, "时间不能在将来 / the time is in the future")]
    return _business_date_checks(field, local_date(moment), local_date(ctx.now), state.round.started_on, "交办日期")


def _acknowledge(cmd: AcknowledgeFeedback, state: FeedbackState, ctx: DecisionContext) -> list[Event]:
    role = _department_role(state, cmd.dept_code)
    assert state.round is not None
    if cmd.dept_code in state.round.received_by:
        raise Conflict("本单位已签收本轮意见 / already acknowledged in this round", {"round": state.round.number})
    if role == "main" and state.status == "answered":
        raise Conflict("本轮已答复，无需签收 / already answered in this round", {"round": state.round.number})
    _refuse(_moment_checks("received_at", cmd.received_at, state, ctx), "签收有误 / invalid receipt")
    return [FeedbackReceived(feedback_id=state.feedback_id, round=state.round.number, dept_code=cmd.dept_code,
                             role=role, received_at=cmd.received_at, handler=cmd.handler, note=cmd.note)]


def _answer(cmd: AnswerFeedback, state: FeedbackState, ctx: DecisionContext) -> list[Event]:
    role = _department_role(state, cmd.dept_code)
    rnd = state.round
    assert rnd is not None
    if role == "main" and state.status == "answered":
        raise Conflict("本轮已答复 / already answered in this round", {"round": rnd.number})
    if role == "co" and cmd.dept_code in rnd.co_replied:
        raise Conflict("本单位已提交本轮协办意见 / contribution already given in this round", {"round": rnd.number})
    problems = _moment_checks("answered_at", cmd.answered_at, state, ctx)
    if cmd.planned_by is not None and cmd.planned_by < local_date(cmd.answered_at):
        problems.append(problem("planned_by", "计划完成日期早于答复日期 / planned date is before the answer"))
    _refuse(problems, "答复有误 / invalid answer")
    body = cmd.model_dump(exclude={"feedback_id"})
    if role == "co":
        return [FeedbackCoReplied(feedback_id=state.feedback_id, round=rnd.number, **body)]
    late = local_date(cmd.answered_at) > rnd.due_on
    return [FeedbackAnswered(feedback_id=state.feedback_id, round=rnd.number, late=late, **body)]


def _rate(cmd: RateFeedback, state: FeedbackState, ctx: DecisionContext, policy: Policy) -> list[Event]:
    _existing(state)
    _not_closed(state)
    if state.status != "answered":
        raise Conflict("答复之后才能评价 / an item is rated after it is answered", {"status": state.status})
    if cmd.rated_by not in state.raised_by:
        raise Forbidden("只有提出人可以评价 / only who raised the item rates it", {"rated_by": cmd.rated_by})
    rnd = state.round
    assert rnd is not None and rnd.answered_on is not None
    rated_on = cmd.rated_on or local_date(ctx.now)
    problems = _business_date_checks("rated_on", rated_on, local_date(ctx.now), rnd.answered_on, "答复日期")
    reopens = cmd.rating == "unsatisfied" and rnd.number < policy.max_rounds
    if cmd.rating == "unsatisfied" and not cmd.comment.strip():
        problems.append(problem("comment", "不满意须说明理由 / an unsatisfied rating says why"))
    if cmd.new_due_on is not None and not reopens:
        problems.append(problem("new_due_on", "只有重新办理才有新的期限 / only a reopened item gets a new due date"))
    new_due = cmd.new_due_on or rated_on + timedelta(days=policy.due_days)
    if reopens and new_due <= rated_on:
        problems.append(problem("new_due_on", "新的期限须晚于评价日期 / the new due date must follow the rating"))
    _refuse(problems, "评价有误 / invalid rating")
    rated = FeedbackRated(feedback_id=state.feedback_id, round=rnd.number, rated_by=cmd.rated_by, rating=cmd.rating,
                          comment=cmd.comment, rated_on=rated_on)
    if reopens:
        return [rated, FeedbackReopened(feedback_id=state.feedback_id, round=rnd.number + 1, main_department=rnd.main,
                                        co_departments=list(rnd.co), reopened_on=rated_on, due_on=new_due,
                                        reason=cmd.comment)]
    return [rated, FeedbackClosed(feedback_id=state.feedback_id, round=rnd.number, rating=cmd.rating,
                                  closed_on=rated_on)]


def decide(command: Command, state: FeedbackState, ctx: DecisionContext, policy: Policy) -> Sequence[Event]:
    """The events a command causes on a feedback item, or a HuiminError if a rule forbids it."""
    match command:
        case SubmitFeedback():
            return _submit(command, state, ctx)
        case RecordActivityOpinion():
            return _record_opinion(command, state)
        case ForwardFeedback():
            return _forward(command, state, ctx, policy)
        case AcknowledgeFeedback():
            return _acknowledge(command, state, ctx)
        case AnswerFeedback():
            return _answer(command, state, ctx)
        case RateFeedback():
            return _rate(command, state, ctx, policy)
        case CheckDeadlines():
            return check_deadlines(state, command.as_of, policy)
    raise TypeError(f"feedback domain cannot decide {type(command).__name__}")


def feedback_decider(policy: Policy) -> Decider[FeedbackState]:
    """The decider of a feedback item under the configured policy."""
    return Decider(initial=FeedbackState(), decide=partial(decide, policy=policy), evolve=evolve)
