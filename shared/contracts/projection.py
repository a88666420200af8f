"""Queries and commands answered by the projection service (views over every service's events)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from shared.contracts.base import Command, Query

SERVICE = "projection"


class RebuildReadModels(Command):
    """Replay the event stream into fresh read-model tables and swap them in."""

    name = "rebuild"


class GetTimeline(Query):
    """Every event about one thing (project, delegate, feedback item, ...) in business-time order."""

    name = "get"

    ref: str = Field(min_length=1, max_length=200, description="an id: project-2026-01, d001, a feedback id ...")
    limit: int = Field(default=500, ge=1, le=5000)


class GetSupervision(Query):
    """The supervision view (监督视图) of one project, today or as it stood on a past date."""

    name = "get"

    project_id: str = Field(min_length=1, max_length=100)
    as_of: date | None = Field(default=None, description="a past date: the view as it stood then; default today")


class CityBoard(Query):
    """The city board of a year: every project with status, percent and phase compliance."""

    name = "city"

    year: int = Field(ge=2000, le=2100)
    status: Literal["green", "amber", "red", "grey"] | None = None
    township: str | None = Field(default=None, max_length=30)
    category: str | None = Field(default=None, max_length=50)
    lead_unit: str | None = Field(default=None, max_length=32)
    as_of: date | None = Field(default=None, description="a past date: the board as it stood then; default today")
    limit: int = Field(default=100, ge=1, le=500, description="projects per page (the counts cover them all)")
    offset: int = Field(default=0, ge=0, le=1_000_000, description="projects to skip: the previous page's next_offset")


class GetRecord(Query):
    """A delegate's performance record (履职档案) for a year: items, score, ranks, and the events behind them."""

    name = "get"

    delegate_id: str = Field(min_length=1, max_length=100)
    year: int = Field(ge=2000, le=2100)


class RankRecords(Query):
    """Delegates ranked by score for a year, in one group or the whole city."""

    name = "rank"

    year: int = Field(ge=2000, le=2100)
    group_id: str | None = Field(default=None, max_length=100)
    limit: int = Field(default=500, ge=1, le=5000)


class GroupBoard(Query):
    """A delegate group's board: members, supervised projects with status, activities held, attendance."""

    name = "group"

    group_id: str = Field(min_length=1, max_length=100)
    year: int = Field(ge=2000, le=2100)
    as_of: date | None = Field(default=None, description="a past date: the board as it stood then; default today")


class DepartmentBoard(Query):
    """A department's board: its projects (lead or co-unit) with status, its open feedback, overdue answers."""

    name = "department"

    dept_code: str = Field(min_length=1, max_length=32)
    year: int = Field(ge=2000, le=2100)
    as_of: date | None = Field(default=None, description="a past date: the board as it stood then; default today")


class GenerateBriefing(Query):
    """A briefing (简报) for a period, in Chinese, as Markdown and HTML.

    Give `start` and `end`, or `period` (week or month) and a `day` inside it.
    """

    name = "generate"

    year: int = Field(ge=2000, le=2100)
    start: date | None = None
    end: date | None = None
    period: Literal["week", "month"] | None = None
    day: date | None = Field(default=None, description="a day inside the week or month")
    limit: int = Field(default=50, ge=1, le=200,
                       description="rows listed in each section (the section's count covers every one)")
