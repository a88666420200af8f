"""What the activities domain knows of other services' data: years, projects, groups, delegates.

The handlers fill it from the service's own copy of the projects' and delegates' events; the
domain only reads it, so deciding stays pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from shared.contracts.projects import YearCalendar
from shared.decider import DecisionContext
from shared.errors import Conflict, Forbidden
from shared.problems import Problems  # noqa: F401 re-exported: the domain modules take it from here


@dataclass(frozen=True)
class DelegateRef:
    """A delegate as far as activities care: name and term."""

    delegate_id: str
    name: str
    term_start: date | None = None
    ended_on: date | None = None

    def active_on(self, day: date) -> bool:
        """Whether the delegate held office on that day (the term ends on `ended_on`)."""
        started = self.term_start is None or self.term_start <= day
        return started and (self.ended_on is None or day < self.ended_on)


@dataclass(frozen=True)
class ProjectRef:
    """A voted project: its year and, if cancelled, since when."""

    project_id: str
    year: int
    cancelled_on: date | None = None

    def cancelled_by(self, day: date) -> bool:
        """Whether the project was cancelled on or before that day."""
        return self.cancelled_on is not None and self.cancelled_on <= day


@dataclass(frozen=True)
class GroupRef:
    """A delegate group of a year and its current members."""

    group_id: str
    year: int
    name: str
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class References:
    """The slice of other services' data one decision needs."""

    calendars: Mapping[int, YearCalendar] = field(default_factory=dict)
    closed_years: frozenset[int] = frozenset()
    projects: Mapping[str, ProjectRef] = field(default_factory=dict)
    groups: Mapping[str, GroupRef] = field(default_factory=dict)
    delegates: Mapping[str, DelegateRef] = field(default_factory=dict)


DELEGATE_ACTOR_PREFIX = "delegate:"  # how the gateway names a delegate acting for themself


def require_self(ctx: DecisionContext, delegate_id: str) -> None:
    """A delegate acting for themself may act only as themself; staff may act for anyone."""
    if ctx.actor.startswith(DELEGATE_ACTOR_PREFIX) and ctx.actor != f"{DELEGATE_ACTOR_PREFIX}{delegate_id}":
        raise Forbidden("代表只能为本人操作 / a delegate may act only for themself", {"delegate_id": delegate_id})


def ensure_year_open(refs: References, year: int) -> None:
    """Refuse changes to a year whose records are closed."""
    if year in refs.closed_years:
        raise Conflict(f"{year} 年度记录已关闭 / the records of {year} are closed", {"year": year})


def check_active_delegates(problems: Problems, refs: References, field_: str, ids: Iterable[str], day: date) -> None:
    """Note delegates that are unknown or not in office on `day`."""
    for i, delegate_id in enumerate(ids):
        ref = refs.delegates.get(delegate_id)
        if ref is None:
            problems.add(f"{field_}.{i}", f"未知代表 {delegate_id}", f"unknown delegate {delegate_id}")
        elif not ref.active_on(day):
            problems.add(f"{field_}.{i}", f"代表 {ref.name} 在 {day} 不在任",
                         f"delegate {delegate_id} is not active on {day}")


def check_project(problems: Problems, refs: References, field_: str, project_id: str, year: int | None,
                  day: date) -> ProjectRef | None:
    """Note a project that is unknown, of another year than `year` (if given), or cancelled by `day`."""
    project = refs.projects.get(project_id)
    if project is None:
        problems.add(field_, f"未知项目 {project_id}", f"unknown project {project_id}")
    elif year is not None and project.year != year:
        problems.add(field_, f"项目 {project_id} 不属于 {year} 年度", f"project {project_id} is not of the year {year}")
    elif project.cancelled_by(day):
        problems.add(field_, f"项目 {project_id} 已于 {project.cancelled_on} 取消",
                     f"project {project_id} was cancelled on {project.cancelled_on}")
    return project


def check_unique(problems: Problems, field_: str, ids: list[str]) -> None:
    """Note ids named twice."""
    seen: set[str] = set()
    for i, value in enumerate(ids):
        if value in seen:
            problems.add(f"{field_}.{i}", f"{value} 重复", f"{value} is named twice")
        seen.add(value)
