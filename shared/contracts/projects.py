"""Commands and events of the projects service (Year, Department, Project)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, model_validator

from shared.contracts.base import Command, Contract, Event, Query, registry

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
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)
