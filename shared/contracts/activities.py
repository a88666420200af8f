"""Commands, events and queries of the activities service (Activity, ContactPoint).

OpinionRaised is the contract the feedback service consumes: keep its fields (add new ones with
defaults). The other events are consumed by the projection (activities view, performance record).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, model_validator

from shared.contracts.base import Command, Contract, Event, Query, registry
from shared.contracts.gateway import Attachment, Attachments, attachments_field

SERVICE = "activities"

# Ids that become part of a stream id (one NATS subject token).
LocalId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,80}$", description="编号: letters, digits, '-', '_'")]
# Ids of things other services own (projects, groups, delegates): checked against this service's copy.
RefId = Annotated[str, Field(min_length=1, max_length=100)]
Year = Annotated[int, Field(ge=2000, le=2100)]
Reason = Annotated[str, Field(min_length=2, max_length=1000, description="原因")]
Text = Annotated[str, Field(max_length=4000)]

ActivityKind = Literal[
    "mobilisation",  # 动员会/座谈会/讨论会 (phase 1)
    "inspection",  # 视察
    "research",  # 调研献策
    "contribution",  # 奉献助推
    "voter_visit",  # 走访选民
    "department_visit",  # 走访职能部门
    "summary",  # 交流会/总结会 (phase 3)
]
MeetingForm = Literal["动员会", "座谈会", "讨论会", "交流会", "研讨会", "总结会"]
AttendanceStatus = Literal["present", "absent", "excused"]  # 出席 / 缺席 / 请假
HelpKind = Literal["policy_explanation", "mobilisation", "mediation", "liaison", "other"]  # 政策解释/动员/化解矛盾/牵线搭桥


def activity_stream_id(activity_id: str) -> str:
    """The event stream of an activity."""
    return f"activity-{activity_id}"


def contact_point_stream_id(contact_point_id: str) -> str:
    """The event stream of a contact point."""
    return f"contactpoint-{contact_point_id}"


# ---------------------------------------------------------------------------------------------
# Commands: activities
# ---------------------------------------------------------------------------------------------


class ScheduleActivity(Command):
    """Schedule an activity of a group (or groups) on one or more projects."""

    name = "schedule_activity"

    activity_id: LocalId | None = Field(default=None, description="given by the caller for idempotent imports")
    year: Year
    kind: ActivityKind
    form: MeetingForm | None = Field(default=None, description="会议形式 (mobilisation and summary only)")
    title: str = Field(min_length=2, max_length=200)
    project_ids: list[RefId] = Field(min_length=1, max_length=20)
    group_ids: list[RefId] = Field(min_length=1, max_length=20, description="组织的代表小组")
    organiser: str = Field(min_length=2, max_length=100, description="组织者 (person or office)")
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    place: str = Field(min_length=2, max_length=200)
    description: Text = ""


class RescheduleActivity(Command):
    """Move an activity (and optionally its place) before anything was recorded for it."""

    name = "reschedule_activity"

    activity_id: LocalId
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    place: str | None = Field(default=None, min_length=2, max_length=200)
    reason: Reason


class CancelActivity(Command):
    """Cancel an activity that did not take place."""

    name = "cancel_activity"

    activity_id: LocalId
    reason: Reason


class InviteDelegates(Command):
    """Invite whole groups (their active members) and/or named delegates to an activity."""

    name = "invite_delegates"

    activity_id: LocalId
    group_ids: list[RefId] = Field(default_factory=list, max_length=20)
    delegate_ids: list[RefId] = Field(default_factory=list, max_length=500)

    @model_validator(mode="after")
    def _someone(self) -> InviteDelegates:
        if not self.group_ids and not self.delegate_ids:
            raise ValueError("name at least one group or delegate / 至少邀请一个小组或一名代表")
        return self


class AttendanceEntry(Contract):
    """The attendance of one delegate: present, absent or excused (请假, with its reason)."""

    delegate_id: RefId
    status: AttendanceStatus
    excuse_reason: str = Field(default="", max_length=500, description="请假事由 (excused only)")
    walk_in: bool = Field(default=False, description="came without an invitation")


class RecordAttendance(Command):
    """Staff record the attendance of invitees (and walk-ins) after the activity started."""

    name = "record_attendance"

    activity_id: LocalId
    entries: list[AttendanceEntry] = Field(min_length=1, max_length=500)


class CheckIn(Command):
    """A delegate checks in with the activity's code, valid only while the activity runs."""

    name = "check_in"

    activity_id: LocalId
    delegate_id: RefId
    code: str = Field(pattern=r"^\d{6}$", description="签到码")


class IssueCheckInCode(Command):
    """Show staff the activity's check-in code and the window it is valid in (no event)."""

    name = "issue_check_in_code"

    activity_id: LocalId


class CorrectAttendance(Command):
    """Correct a recorded attendance after the fact; the original stays in the history."""

    name = "correct_attendance"

    activity_id: LocalId
    delegate_id: RefId
    status: AttendanceStatus
    excuse_reason: str = Field(default="", max_length=500)
    reason: Reason


class OpinionInput(Contract):
    """An opinion or suggestion raised at an activity, by the delegates who raised it."""

    category: str = Field(min_length=1, max_length=50, description="类别, e.g. 进度, 质量, 安全, 群众诉求 (as in feedback)")
    content: str = Field(min_length=2, max_length=4000)
    raised_by: list[RefId] = Field(min_length=1, max_length=50)
    project_id: RefId | None = Field(default=None, description="required when the activity has several projects")


class ResearchReport(Contract):
    """The report of a research activity (调研报告)."""

    title: str = Field(min_length=2, max_length=200)
    summary: str = Field(min_length=2, max_length=20000)
    recommendations: list[Annotated[str, Field(min_length=2, max_length=2000)]] = Field(
        default_factory=list, max_length=50)


class ContributionResult(Contract):
    """What a contribution activity helped with and what it resolved (奉献助推成效)."""

    helped: str = Field(min_length=2, max_length=4000, description="协助做了什么")
    resolved: list[Annotated[str, Field(min_length=2, max_length=1000)]] = Field(default_factory=list, max_length=50)


class RecordOutcome(Command):
    """Record what an activity produced: minutes, findings, opinions, report or contribution."""

    name = "record_outcome"

    activity_id: LocalId
    minutes: str = Field(min_length=2, max_length=20000, description="纪要")
    findings: list[Annotated[str, Field(min_length=2, max_length=2000)]] = Field(default_factory=list, max_length=50)
    opinions: list[OpinionInput] = Field(default_factory=list, max_length=50)
    report: ResearchReport | None = None
    contribution: ContributionResult | None = None
    attachments: Attachments = attachments_field()  # photos and documents of what was found (视察照片等)


class RaiseOpinions(Command):
    """Add opinions raised at an activity (e.g. written ones handed in after it)."""

    name = "raise_opinions"

    activity_id: LocalId
    opinions: list[OpinionInput] = Field(min_length=1, max_length=50)


# ---------------------------------------------------------------------------------------------
# Commands: contact points
# ---------------------------------------------------------------------------------------------


class EstablishContactPoint(Command):
    """Establish a contact point (项目联系点) of a project with its responsible delegates."""

    name = "establish_contact_point"

    contact_point_id: LocalId | None = None
    project_id: RefId
    place: str = Field(min_length=2, max_length=200)
    delegate_ids: list[RefId] = Field(min_length=1, max_length=30)
    established_on: date
    note: Text = ""


class ChangeContactPointDelegates(Command):
    """Replace the responsible delegates of a contact point."""

    name = "change_contact_point_delegates"

    contact_point_id: LocalId
    delegate_ids: list[RefId] = Field(min_length=1, max_length=30)
    reason: Reason


class LogContact(Command):
    """A delegate logs a contact at a contact point: what was learned and what help was given."""

    name = "log_contact"

    log_id: LocalId | None = Field(default=None, description="given by the caller so a retried log is not doubled")
    contact_point_id: LocalId
    delegate_id: RefId
    contacted_on: date
    progress: Text = Field(default="", description="项目进展")
    difficulties: Text = Field(default="", description="存在困难")
    public_response: Text = Field(default="", description="群众反响")
    demands: Text = Field(default="", description="意见要求")
    help_given: list[HelpKind] = Field(default_factory=list, max_length=5)
    help_note: Text = ""
    attachments: Attachments = attachments_field()

    @model_validator(mode="after")
    def _learned_something(self) -> LogContact:
        if not any((self.progress, self.difficulties, self.public_response, self.demands)):
            raise ValueError("记录了解到的情况 / record what was learned (progress, difficulties, response or demands)")
        return self


# ---------------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------------


@registry.register
class ActivityScheduled(Event):
    """An activity was scheduled; its phase comes from the year's calendar."""

    type = "ActivityScheduled"

    activity_id: str
    year: int
    kind: str
    form: str | None = None
    title: str
    project_ids: list[str]
    group_ids: list[str]
    organiser: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    place: str
    phase: str
    description: str = ""


@registry.register
class ActivityRescheduled(Event):
    """An activity moved in time (and maybe place)."""

    type = "ActivityRescheduled"

    activity_id: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    place: str
    phase: str
    reason: str


@registry.register
class ActivityCancelled(Event):
    """An activity was called off."""

    type = "ActivityCancelled"

    activity_id: str
    reason: str


@registry.register
class DelegatesInvited(Event):
    """Delegates were invited (the groups named were invited whole, their active members listed)."""

    type = "DelegatesInvited"

    activity_id: str
    delegate_ids: list[str]
    group_ids: list[str] = []
    skipped_inactive: list[str] = []  # members of the invited groups not active on the activity's date


@registry.register
class AttendanceRecorded(Event):
    """A delegate's attendance, by staff or by the delegate's own check-in; walk-ins are not invited."""

    type = "AttendanceRecorded"

    activity_id: str
    delegate_id: str
    status: str
    excuse_reason: str = ""
    invited: bool = True
    source: Literal["staff", "check_in"] = "staff"


@registry.register
class AttendanceCorrected(Event):
    """A recorded attendance was corrected; the original stays in the history."""

    type = "AttendanceCorrected"

    activity_id: str
    delegate_id: str
    previous_status: str
    status: str
    excuse_reason: str = ""
    reason: str


@registry.register
class OutcomeRecorded(Event):
    """What an activity produced (its opinions follow as OpinionRaised events)."""

    type = "OutcomeRecorded"

    activity_id: str
    year: int
    kind: str
    minutes: str
    findings: list[str] = []
    report: ResearchReport | None = None
    contribution: ContributionResult | None = None
    attachments: list[Attachment] = []  # object-store references; none before issue #8


@registry.register
class OpinionRaised(Event):
    """An opinion or suggestion raised at an activity, attributed to the delegates who raised it.

    The feedback service turns each into a feedback item; the activities service never calls it.
    """

    type = "OpinionRaised"

    activity_id: str
    opinion_id: str  # unique within the activity; (activity_id, opinion_id) identifies it
    year: int
    project_id: str | None = None
    category: str
    content: str
    raised_by: list[str]  # delegate ids
    group_id: str | None = None
    raised_on: date


@registry.register
class ContactPointEstablished(Event):
    """A project's contact point was established with its responsible delegates."""

    type = "ContactPointEstablished"

    contact_point_id: str
    project_id: str
    year: int
    place: str
    delegate_ids: list[str]
    established_on: date
    note: str = ""


@registry.register
class ContactPointDelegatesChanged(Event):
    """The responsible delegates of a contact point were replaced."""

    type = "ContactPointDelegatesChanged"

    contact_point_id: str
    delegate_ids: list[str]
    reason: str


@registry.register
class ContactLogged(Event):
    """A delegate's contact at a contact point: what was learned, what help was given."""

    type = "ContactLogged"

    contact_point_id: str
    log_id: str  # unique within the contact point
    project_id: str
    year: int
    delegate_id: str
    contacted_on: date
    progress: str = ""
    difficulties: str = ""
    public_response: str = ""
    demands: str = ""
    help_given: list[str] = []
    help_note: str = ""
    attachments: list[Attachment] = []  # object-store references; none before issue #8


# ---------------------------------------------------------------------------------------------
# Queries (answered by the projection service, view "activities")
# ---------------------------------------------------------------------------------------------


class ListActivities(Query):
    """Activities matching the filters, newest first."""

    name = "list"

    year: Year | None = None
    kind: ActivityKind | None = None
    project_id: RefId | None = None
    group_id: RefId | None = None
    delegate_id: RefId | None = Field(default=None, description="activities the delegate was invited to or attended")
    status: Literal["scheduled", "cancelled"] | None = None
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=1_000_000)  # bounded: PostgreSQL OFFSET is a bigint


class GetActivity(Query):
    """One activity with its attendance (a page of it, or one delegate's row), opinions and outcome."""

    name = "get"

    activity_id: LocalId
    delegate_id: RefId | None = Field(default=None, description="only this delegate's attendance row")
    limit: int = Field(default=1000, ge=1, le=2000, description="attendance rows per page (a city-wide meeting "
                                                               "invites thousands)")
    offset: int = Field(default=0, ge=0, le=1_000_000, description="attendance rows to skip: the previous page's "
                                                                   "attendance_next_offset")


class ListContactPoints(Query):
    """Contact points, by year and/or project."""

    name = "contact_points"

    year: Year | None = None
    project_id: RefId | None = None
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=1_000_000)  # bounded: PostgreSQL OFFSET is a bigint


class ListContactLogs(Query):
    """Contact logs, newest first, by year, project, contact point or delegate."""

    name = "contact_logs"

    year: Year | None = None
    project_id: RefId | None = None
    contact_point_id: LocalId | None = None
    delegate_id: RefId | None = None
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=1_000_000)  # bounded: PostgreSQL OFFSET is a bigint
