"""Commands and events of the projects service (Year, Department, Project)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, model_validator

from shared.contracts.base import Command, Contract, Event, Query, registry
from shared.contracts.gateway import Attachment, Attachments, attachments_field
from shared.ingest import DepartmentMessage

SERVICE = "projects"

ProjectCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9\-]{1,20}$", description="项目编号, unique within a year")]
DeptCode = Annotated[str, Field(pattern=r"^[a-z0-9_\-]{2,32}$", description="部门代码 (lowercase)")]
Year = Annotated[int, Field(ge=2000, le=2100)]
Votes = Annotated[int, Field(ge=0, le=100_000)]


Township = Annotated[str, Field(min_length=2, max_length=30, description="乡镇/街道, e.g. 嘎洒镇")]


class Location(Contract):
    """A place of a project (or a delegate): township, optional label and coordinates (WGS84)."""

    township: Township
    label: str | None = Field(default=None, max_length=100)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both_coordinates(self) -> Location:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together")
        return self


class PhaseWindow(Contract):
    """The first and last day (inclusive) of a phase of the year."""

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> PhaseWindow:
        if self.end < self.start:
            raise ValueError("a phase ends before it starts")
        return self

    def contains(self, day: date) -> bool:
        """Whether a day falls inside the window."""
        return self.start <= day <= self.end


Phase = Literal["before", "mobilisation", "supervision", "summary", "after"]


class YearCalendar(Contract):
    """The campaign calendar of a year: data of the year, never constants in code (DESIGN.md §2)."""

    session_start: date = Field(description="人代会开幕")
    session_end: date = Field(description="人代会闭幕; the year's work starts here")
    plan_deadline: date = Field(description="实施计划报送截止 (default: session end + 1 month)")
    mobilisation: PhaseWindow = Field(description="第一阶段 明确分工和宣传发动")
    supervision: PhaseWindow = Field(description="第二阶段 联系监督 (the four ones)")
    summary: PhaseWindow = Field(description="第三阶段 总结交流")
    evaluation: PhaseWindow | None = Field(default=None, description="满意度测评 window, if set")

    def phase_of(self, day: date) -> Phase:
        """The phase a business date falls in."""
        for name in ("mobilisation", "supervision", "summary"):
            if getattr(self, name).contains(day):
                return name  # type: ignore[return-value]
        return "before" if day < self.mobilisation.start else "after"


def project_stream_id(year: int, code: str) -> str:
    """The event stream of a project: one per (year, code)."""
    return f"project-{year}-{code}"


class RegisterVotedProject(Command):
    """Register a livelihood project adopted by the congress vote (票决)."""

    name = "register_voted_project"

    year: Year
    code: ProjectCode
    title: str = Field(min_length=2, max_length=200, description="项目名称")
    category: str = Field(min_length=1, max_length=50, description="类别, e.g. 教育, 医疗卫生")
    lead_unit: DeptCode = Field(description="牵头责任单位 code")
    co_units: list[DeptCode] = Field(default_factory=list, max_length=20, description="配合单位 codes")
    description: str = Field(default="", max_length=4000)
    townships: list[Township] = Field(default_factory=list, max_length=20)
    locations: list[Location] = Field(default_factory=list, max_length=50)
    budget_wan: float | None = Field(default=None, ge=0, description="预算 (万元)")
    votes_for: Votes
    votes_against: Votes
    votes_abstain: Votes
    voted_on: date = Field(description="票决日期 (business date, Asia/Shanghai)")


@registry.register
class ProjectVoted(Event):
    """A project was adopted by the congress vote."""

    type = "ProjectVoted"

    project_id: str
    year: int
    code: str
    title: str
    category: str
    lead_unit: str
    co_units: list[str] = []
    description: str = ""
    townships: list[str] = []
    locations: list[Location] = []
    budget_wan: float | None = None
    votes_for: int
    votes_against: int
    votes_abstain: int
    voted_on: date


@registry.register
class YearOpened(Event):
    """The year's campaign opened, with its calendar (other services derive phases from it)."""

    type = "YearOpened"

    year: int
    calendar: YearCalendar
    evaluation_scope: Literal["group", "all"] = "group"  # who votes in the year-end evaluation


@registry.register
class YearCalendarAdjusted(Event):
    """The year's calendar was changed; the new calendar replaces the old one whole."""

    type = "YearCalendarAdjusted"

    year: int
    calendar: YearCalendar
    reason: str


@registry.register
class YearClosed(Event):
    """The year's records were closed after the summary phase."""

    type = "YearClosed"

    year: int


@registry.register
class DepartmentRegistered(Event):
    """A department (unit responsible for projects) entered the registry."""

    type = "DepartmentRegistered"

    code: str
    name: str
    short_name: str


def year_stream_id(year: int) -> str:
    """The event stream of a year's calendar."""
    return f"year-{year}"


def department_stream_id(code: str) -> str:
    """The event stream of a department."""
    return f"department-{code}"


class ListProjects(Query):
    """List voted projects, newest year first."""

    name = "list"

    year: Year | None = None
    lead_unit: DeptCode | None = None
    category: str | None = Field(default=None, max_length=50)
    status: str | None = Field(default=None, max_length=20,
                               description="voted, planned, in_progress, completed, accepted, cancelled")
    township: str | None = Field(default=None, max_length=30)
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=1_000_000)  # bounded: PostgreSQL's OFFSET is a bigint


# --- Year (campaign calendar) commands -------------------------------------------------------

Reason = Annotated[str, Field(min_length=2, max_length=1000, description="理由 (required for changes)")]


class OpenYear(Command):
    """Open a year's campaign from its congress session; omitted dates take the defaults (DESIGN.md §2)."""

    name = "open_year"

    year: Year
    session_start: date = Field(description="人代会开幕")
    session_end: date = Field(description="人代会闭幕")
    plan_deadline: date | None = Field(default=None, description="default: session end + 1 month")
    mobilisation: PhaseWindow | None = Field(default=None,
                                             description="default: Feb 1 (or the day after the session) – Mar 31")
    supervision: PhaseWindow | None = Field(default=None, description="default: Apr 1 – Nov 30")
    summary: PhaseWindow | None = Field(default=None, description="default: Dec 1 – Dec 31")
    evaluation: PhaseWindow | None = None
    evaluation_scope: Literal["group", "all"] = "group"


class AdjustYearCalendar(Command):
    """Change some dates of a year's calendar, with a reason; the fields left out keep their values."""

    name = "adjust_year_calendar"

    year: Year
    reason: Reason
    session_start: date | None = None
    session_end: date | None = None
    plan_deadline: date | None = None
    mobilisation: PhaseWindow | None = None
    supervision: PhaseWindow | None = None
    summary: PhaseWindow | None = None
    evaluation: PhaseWindow | None = None


class CloseYear(Command):
    """Close the year's records once its summary phase has begun."""

    name = "close_year"

    year: Year


# --- Departments ------------------------------------------------------------------------------


class RegisterDepartment(Command):
    """Enter a department (a unit that can lead or co-operate on projects) into the registry."""

    name = "register_department"

    code: DeptCode
    full_name: str = Field(min_length=2, max_length=100, description="全称, e.g. 景洪市住房和城乡建设局")
    short_name: str = Field(min_length=1, max_length=30, description="简称, e.g. 市住建局")


class ImportFile(Command):
    """A CSV or XLSX file sent whole (base64) for a bulk import; rows are reported one by one."""

    name = "import_file"

    file_name: str = Field(min_length=1, max_length=200, description="its extension (.csv / .xlsx) picks the format")
    content_base64: str = Field(min_length=1, max_length=1_000_000)


class ImportDepartments(ImportFile):
    """Register the departments of a CSV/XLSX file (columns 代码, 名称, 简称)."""

    name = "import_departments"


class ImportVotedProjects(ImportFile):
    """Register the voted projects of a CSV/XLSX of vote results for a year (see docs/projects.md)."""

    name = "import_voted_projects"

    year: Year


# --- Project life: plan, progress, obstacles, completion, acceptance, cancellation ----------


class ProjectCommand(Command):
    """A command on one project, named by year and code."""

    name = "project_command"

    year: Year
    code: ProjectCode


class Milestone(Contract):
    """One step of an implementation plan; the weights of a plan sum to 100."""

    name: str = Field(min_length=1, max_length=100, description="节点名称")
    due: date = Field(description="计划完成日期")
    weight: int = Field(ge=1, le=100, description="权重 (percentage points of the whole project)")


Milestones = Annotated[list[Milestone], Field(min_length=1, max_length=30)]
Text = Annotated[str, Field(max_length=4000)]


class SubmitPlan(ProjectCommand):
    """Record the implementation plan (实施计划) a lead unit submitted; late if after the year's deadline."""

    name = "submit_plan"

    milestones: Milestones
    target_completion: date = Field(description="计划完成日期")
    submitted_on: date = Field(description="报送日期 (business date)")


class RevisePlan(ProjectCommand):
    """Replace the plan with a revised one; the old plan stays in the history."""

    name = "revise_plan"

    milestones: Milestones
    target_completion: date
    revised_on: date
    reason: Reason


class ReportProgress(ProjectCommand):
    """Record a progress report (通报进展情况) of a responsible department as of a date."""

    name = "report_progress"

    reported_by: DeptCode = Field(description="the reporting department: the lead unit or a co-unit")
    as_of: date = Field(description="截至日期: the report describes the project on this day")
    percent: float = Field(ge=0, le=100, description="完成百分比")
    milestones_completed: list[str] = Field(default_factory=list, max_length=30,
                                            description="names of every plan milestone finished by as_of")
    narrative: Text = ""
    problems: Text = Field(default="", description="遇到的问题")
    funds_spent_wan: float | None = Field(default=None, ge=0, description="累计已支出资金 (万元)")
    correction: bool = Field(default=False, description="corrects an earlier report: percent may go down")
    correction_reason: str = Field(default="", max_length=1000)
    message_id: str | None = Field(default=None, max_length=100, description="the department message it came in")
    attachments: Attachments = attachments_field()


ObstacleKind = Literal["resistance", "interference", "slow_progress"]
OBSTACLE_KINDS: dict[str, str] = {"resistance": "遇到阻力", "interference": "受到干扰", "slow_progress": "进展缓慢"}


class ReportObstacle(ProjectCommand):
    """Record an obstacle met by a project (遇到阻力 / 受到干扰 / 进展缓慢)."""

    name = "report_obstacle"

    kind: ObstacleKind
    description: str = Field(min_length=2, max_length=4000)
    reported_on: date
    source: str = Field(default="", max_length=100, description="who raised it: a department, a group, the office")


class ResolveObstacle(ProjectCommand):
    """Record that an obstacle was overcome."""

    name = "resolve_obstacle"

    obstacle_id: str = Field(pattern=r"^o[0-9]{1,4}$")
    resolved_on: date
    resolution: str = Field(min_length=2, max_length=4000)


class CompleteProject(ProjectCommand):
    """Record that the works are finished (竣工); acceptance follows."""

    name = "complete_project"

    completed_on: date
    summary: Text = ""


class AcceptProject(ProjectCommand):
    """Record the acceptance (验收) of a completed project."""

    name = "accept_project"

    accepted_on: date
    accepted_by: str = Field(min_length=2, max_length=200, description="验收组织单位")
    conclusion: Text = ""


class CancelProject(ProjectCommand):
    """Cancel a project that will not be carried out, with the reason."""

    name = "cancel_project"

    cancelled_on: date
    reason: Reason


# --- Project events ---------------------------------------------------------------------------


class _ProjectEvent(Event):
    type = "_ProjectEvent"

    project_id: str
    year: int
    code: str


@registry.register
class PlanSubmitted(_ProjectEvent):
    """The implementation plan was submitted (late when after the year's plan deadline)."""

    type = "PlanSubmitted"

    milestones: list[Milestone]
    target_completion: date
    submitted_on: date
    plan_deadline: date
    late: bool
    days_late: int = 0


@registry.register
class PlanRevised(_ProjectEvent):
    """The plan was replaced by a revision; the previous plan stays in the history."""

    type = "PlanRevised"

    revision: int = Field(description="2 for the first revision")
    milestones: list[Milestone]
    target_completion: date
    revised_on: date
    reason: str


@registry.register
class ProgressReported(_ProjectEvent):
    """A responsible department reported the project's progress as of a date."""

    type = "ProgressReported"

    reported_by: str
    as_of: date
    percent: float
    milestones_completed: list[str] = []
    narrative: str = ""
    problems: str = ""
    funds_spent_wan: float | None = None
    correction: bool = False
    correction_reason: str = ""
    message_id: str | None = None
    attachments: list[Attachment] = []  # photos and documents (object-store references); none before issue #8


@registry.register
class ObstacleReported(_ProjectEvent):
    """An obstacle was met (kind: resistance 遇到阻力, interference 受到干扰, slow_progress 进展缓慢)."""

    type = "ObstacleReported"

    obstacle_id: str
    kind: ObstacleKind
    description: str
    reported_on: date
    source: str = ""


@registry.register
class ObstacleResolved(_ProjectEvent):
    """An obstacle was overcome."""

    type = "ObstacleResolved"

    obstacle_id: str
    resolved_on: date
    resolution: str


@registry.register
class ProjectCompleted(_ProjectEvent):
    """The works were finished."""

    type = "ProjectCompleted"

    completed_on: date
    summary: str = ""


@registry.register
class ProjectAccepted(_ProjectEvent):
    """The completed project passed acceptance (验收)."""

    type = "ProjectAccepted"

    accepted_on: date
    accepted_by: str
    conclusion: str = ""


@registry.register
class ProjectCancelled(_ProjectEvent):
    """The project was cancelled."""

    type = "ProjectCancelled"

    cancelled_on: date
    reason: str


# --- Department input on HUIMIN_INGEST (huimin.ingest.<dept_code>.progress) -----------------


class ProgressMessage(DepartmentMessage):
    """A department's progress report as published on `huimin.ingest.<dept_code>.progress`."""

    year: Year
    code: ProjectCode
    as_of: date
    percent: float = Field(ge=0, le=100)
    milestones_completed: list[str] = Field(default_factory=list, max_length=30)
    narrative: Text = ""
    problems: Text = ""
    funds_spent_wan: float | None = Field(default=None, ge=0)
    correction: bool = False
    correction_reason: str = Field(default="", max_length=1000)
    # References returned by the gateway's POST /api/v1/attachments (docs/projects.md, "Attachments").
    attachments: Attachments = attachments_field()


# --- Queries ----------------------------------------------------------------------------------


class GetProject(Query):
    """One project with its plan (and revisions), progress reports and obstacles."""

    name = "get"

    project_id: str = Field(pattern=r"^project-[0-9]{4}-[A-Za-z0-9\-]{1,20}$")


class ListDepartments(Query):
    """The department registry."""

    name = "departments"


class GetYear(Query):
    """A year's campaign calendar."""

    name = "year"

    year: Year
