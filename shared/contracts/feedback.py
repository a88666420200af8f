"""Commands, events, department messages and queries of the feedback service (Feedback, Evaluation).

Feedback (代表建议和意见) is raised by a delegate, a group, at an activity, or relayed from the
public; it is forwarded to a main department and co-departments (主办/协办) with a due date,
acknowledged and answered by them over `HUIMIN_INGEST`, rated by who raised it, and reopened once
more when rated 不满意. Evaluation (满意度测评) is the year-end satisfaction vote per project.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from shared.contracts.base import Command, Event, Query, registry
from shared.contracts.projects import DeptCode, Year
from shared.ingest import DepartmentMessage

SERVICE = "feedback"

FeedbackId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,80}$", description="意见编号")]
RefId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_:\-]{1,100}$")]
Text = Annotated[str, Field(max_length=2000)]

Source = Literal["delegate", "group", "activity", "public"]  # 代表 / 代表小组 / 活动 / 群众意见(代表转达)
AnswerResult = Literal["adopted", "partly_adopted", "not_adopted"]  # 采纳 / 部分采纳 / 解释说明未采纳
Rating = Literal["satisfied", "basically_satisfied", "unsatisfied"]  # 满意 / 基本满意 / 不满意
Status = Literal["submitted", "forwarded", "received", "answered", "reopened", "closed"]
DeptRole = Literal["main", "co"]  # 主办 / 协办

SOURCE_LABELS = {"delegate": "代表提出", "group": "代表小组提出", "activity": "活动中提出", "public": "代表转达群众意见"}
RESULT_LABELS = {"adopted": "采纳", "partly_adopted": "部分采纳", "not_adopted": "解释说明未采纳"}
RATING_LABELS = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}
STATUS_LABELS = {"submitted": "待交办", "forwarded": "已交办", "received": "已签收", "answered": "已答复",
                 "reopened": "重新办理", "closed": "已办结"}

_OPINION_NAMESPACE = uuid.UUID("6f1c1f62-3b8e-5d0c-9a57-1f0f2d6b7c11")


def feedback_stream_id(feedback_id: str) -> str:
    """The event stream of a feedback item."""
    return f"feedback-{feedback_id}"


def evaluation_stream_id(project_id: str, delegate_id: str) -> str:
    """The event stream of one delegate's year-end evaluation vote on a project (votes never contend)."""
    return f"evaluation-{project_id}-{delegate_id}"


def opinion_feedback_id(activity_id: str, opinion_id: str) -> str:
    """The feedback id of an opinion raised at an activity: the same opinion always maps to the same item."""
    return f"op-{uuid.uuid5(_OPINION_NAMESPACE, f'{activity_id}/{opinion_id}').hex}"


# --- commands (huimin.cmd.feedback.<name>) -------------------------------------------------------


class SubmitFeedback(Command):
    """Record an opinion or suggestion raised by delegates, a group, or relayed from the public."""

    name = "submit_feedback"

    feedback_id: FeedbackId | None = Field(default=None, description="omit to have one assigned")
    year: Year
    source: Literal["delegate", "group", "public"]
    project_id: RefId | None = Field(default=None, description="惠民实事项目 (optional)")
    category: str = Field(min_length=1, max_length=50, description="类别, e.g. 进度, 质量, 安全, 群众诉求")
    content: str = Field(min_length=2, max_length=4000)
    raised_by: list[RefId] = Field(min_length=1, max_length=50, description="提出的代表 (delegate ids)")
    group_id: RefId | None = Field(default=None, description="代表小组 (required when source is group)")
    public_source: str = Field(default="", max_length=200, description="群众来源 (required when source is public)")
    raised_on: date = Field(description="提出日期 (business date)")


class ForwardFeedback(Command):
    """Forward a submitted item to its main department and co-departments (交办), with a due date."""

    name = "forward_feedback"

    feedback_id: FeedbackId
    main_department: DeptCode
    co_departments: list[DeptCode] = Field(default_factory=list, max_length=10)
    forwarded_on: date | None = Field(default=None, description="交办日期 (default: today)")
    due_on: date | None = Field(default=None, description="办理期限 (default: forwarded_on + configured days)")
    note: Text = ""


class RateFeedback(Command):
    """The delegate who raised an item rates the department's answer (满意 / 基本满意 / 不满意)."""

    name = "rate_feedback"

    feedback_id: FeedbackId
    rated_by: RefId
    rating: Rating
    comment: Text = ""
    rated_on: date | None = Field(default=None, description="评价日期 (default: today)")
    new_due_on: date | None = Field(default=None, description="不满意: due date of the next round")


class SweepDeadlines(Command):
    """Check due dates now: send reminders and overdue notices that are due (also runs periodically)."""

    name = "sweep_deadlines"


class CastEvaluationVote(Command):
    """A delegate's year-end satisfaction vote on a project; may be changed until the window closes."""

    name = "cast_evaluation_vote"

    project_id: RefId
    delegate_id: RefId
    rating: Rating
    voted_on: date | None = Field(default=None, description="投票日期 (default: today)")


# Internal commands: built by the service from department messages, events and its clock.


class AcknowledgeFeedback(Command):
    """A department acknowledges an item forwarded to it (签收)."""

    name = "acknowledge_feedback"

    feedback_id: FeedbackId
    dept_code: DeptCode
    received_at: AwareDatetime
    handler: str = ""
    note: str = ""


class AnswerFeedback(Command):
    """A department answers an item (main department: the answer; co-department: its contribution)."""

    name = "answer_feedback"

    feedback_id: FeedbackId
    dept_code: DeptCode
    answered_at: AwareDatetime
    result: AnswerResult
    content: str
    planned_actions: str = ""
    planned_by: date | None = None
    handler: str = ""


class RecordActivityOpinion(Command):
    """Turn an opinion raised at an activity into a feedback item (once)."""

    name = "record_activity_opinion"

    feedback_id: FeedbackId
    activity_id: str
    opinion_id: str
    year: int
    project_id: str | None = None
    category: str
    content: str
    raised_by: list[str]
    group_id: str | None = None
    raised_on: date


class CheckDeadlines(Command):
    """Decide the reminder or overdue notice an item needs as of a date."""

    name = "check_deadlines"

    as_of: date


# --- department messages on HUIMIN_INGEST (huimin.ingest.<dept_code>.receipt / .reply) ------------


class FeedbackReceipt(DepartmentMessage):
    """A department's acknowledgement (签收) of an item forwarded to it."""

    feedback_id: FeedbackId
    received_at: AwareDatetime = Field(description="签收时间 (with time zone)")
    handler: str = Field(default="", max_length=100, description="经办人")
    note: str = Field(default="", max_length=1000)


class FeedbackReply(DepartmentMessage):
    """A department's answer (答复); from a co-department it is its contribution (协办意见)."""

    feedback_id: FeedbackId
    answered_at: AwareDatetime = Field(description="答复时间 (with time zone)")
    result: AnswerResult = Field(description="adopted 采纳 / partly_adopted 部分采纳 / not_adopted 解释说明未采纳")
    content: str = Field(min_length=2, max_length=8000, description="答复内容")
    planned_actions: str = Field(default="", max_length=4000, description="拟采取的措施")
    planned_by: date | None = Field(default=None, description="计划完成日期")
    handler: str = Field(default="", max_length=100, description="经办人")


# --- events ------------------------------------------------------------------------------------


@registry.register
class FeedbackSubmitted(Event):
    """An opinion or suggestion was recorded as a feedback item."""

    type = "FeedbackSubmitted"

    feedback_id: str
    year: int
    source: Source
    project_id: str | None = None
    category: str
    content: str
    raised_by: list[str]
    group_id: str | None = None
    public_source: str = ""
    activity_id: str | None = None
    opinion_id: str | None = None
    raised_on: date


@registry.register
class FeedbackForwarded(Event):
    """The item was forwarded to a main department and co-departments with a due date (round 1)."""

    type = "FeedbackForwarded"

    feedback_id: str
    round: int
    main_department: str
    co_departments: list[str] = []
    forwarded_on: date
    due_on: date
    note: str = ""


@registry.register
class FeedbackReceived(Event):
    """A department acknowledged the item for the current round."""

    type = "FeedbackReceived"

    feedback_id: str
    round: int
    dept_code: str
    role: DeptRole
    received_at: AwareDatetime
    handler: str = ""
    note: str = ""


class _DepartmentAnswer(Event):
    """What a department's answer carries, whether it is the main answer or a co-department's part."""

    type = "_DepartmentAnswer"  # a base, never stored

    feedback_id: str
    round: int
    dept_code: str
    answered_at: AwareDatetime
    result: AnswerResult
    content: str
    planned_actions: str = ""
    planned_by: date | None = None
    handler: str = ""


@registry.register
class FeedbackAnswered(_DepartmentAnswer):
    """The main department answered the item for the current round."""

    type = "FeedbackAnswered"

    late: bool = False  # answered after the due date


@registry.register
class FeedbackCoReplied(_DepartmentAnswer):
    """A co-department gave its contribution (协办意见) for the current round."""

    type = "FeedbackCoReplied"


@registry.register
class FeedbackRated(Event):
    """Who raised the item rated the answer of the current round."""

    type = "FeedbackRated"

    feedback_id: str
    round: int
    rated_by: str
    rating: Rating
    comment: str = ""
    rated_on: date


@registry.register
class FeedbackReopened(Event):
    """Rated 不满意: the item goes back to its departments for another round with a new due date."""

    type = "FeedbackReopened"

    feedback_id: str
    round: int  # the new round
    main_department: str
    co_departments: list[str] = []
    reopened_on: date
    due_on: date
    reason: str = ""


@registry.register
class FeedbackClosed(Event):
    """The item is closed (办结) with its final rating."""

    type = "FeedbackClosed"

    feedback_id: str
    round: int
    rating: Rating
    closed_on: date


@registry.register
class ReminderSent(Event):
    """The departments were reminded that an unanswered item falls due soon."""

    type = "ReminderSent"

    feedback_id: str
    round: int
    departments: list[str]
    due_on: date
    days_left: int
    as_of: date


@registry.register
class FeedbackOverdue(Event):
    """The item's due date passed without an answer (notified once per round)."""

    type = "FeedbackOverdue"

    feedback_id: str
    round: int
    departments: list[str]
    due_on: date
    as_of: date


@registry.register
class EvaluationVoteCast(Event):
    """A delegate voted in a project's year-end evaluation."""

    type = "EvaluationVoteCast"

    project_id: str
    year: int
    delegate_id: str
    rating: Rating
    voted_on: date


@registry.register
class EvaluationVoteChanged(Event):
    """A delegate changed their evaluation vote while the window was open."""

    type = "EvaluationVoteChanged"

    project_id: str
    year: int
    delegate_id: str
    rating: Rating
    previous: Rating
    voted_on: date


# --- queries (huimin.qry.feedback.<name>, answered by the projection service) ------------------


class ListFeedback(Query):
    """The feedback ledger, newest first; overdue is derived as of a date (default today)."""

    name = "list"

    year: Year | None = None
    status: Status | None = None
    project_id: RefId | None = None
    department: DeptCode | None = Field(default=None, description="main or co-department")
    raised_by: RefId | None = None
    source: Source | None = None
    overdue: bool | None = None
    as_of: date | None = None
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=1_000_000)  # bounded: PostgreSQL OFFSET is a bigint


class GetFeedback(Query):
    """One item with every round: forwarding, receipts, answers, ratings, reminders."""

    name = "detail"

    feedback_id: FeedbackId
    as_of: date | None = None


class EvaluationResults(Query):
    """Year-end evaluation results per project (one page), and the year's totals over every project."""

    name = "evaluation"

    year: Year
    project_id: RefId | None = None
    limit: int = Field(default=100, ge=1, le=500, description="projects per page (the totals cover them all)")
    offset: int = Field(default=0, ge=0, le=1_000_000, description="projects to skip: the previous page's next_offset")
