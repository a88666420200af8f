"""Commands and events of the projects service (Year, Department, Project)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field

from shared.contracts.base import Command, Event, Query, registry

SERVICE = "projects"

ProjectCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9\-]{1,20}$", description="项目编号, unique within a year")]
DeptCode = Annotated[str, Field(pattern=r"^[a-z0-9_\-]{2,32}$", description="部门代码 (lowercase)")]
Year = Annotated[int, Field(ge=2000, le=2100)]
Votes = Annotated[int, Field(ge=0, le=100_000)]


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
    votes_for: int
    votes_against: int
    votes_abstain: int
    voted_on: date


class ListProjects(Query):
    """List voted projects, newest year first."""

    name = "list"

    year: Year | None = None
    lead_unit: DeptCode | None = None
    category: str | None = Field(default=None, max_length=50)
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)
