"""What the rules of a project know about its past, and how each event changes it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from services.projects.rules import refuse
from services.projects.year import YearState
from shared.contracts.base import Event
from shared.contracts.projects import (
    Milestone, ObstacleReported, ObstacleResolved, PlanRevised, PlanSubmitted, ProgressReported, ProjectAccepted,
    ProjectCancelled, ProjectCompleted, ProjectVoted,
)
from shared.errors import Conflict, NotFound


@dataclass(frozen=True)
class PlanState:
    """The plan in force."""

    milestones: tuple[Milestone, ...]
    target_completion: date
    revision: int
    first_submitted_on: date
    changed_on: date

    @property
    def names(self) -> frozenset[str]:
        """The milestone names of the plan."""
        return frozenset(m.name for m in self.milestones)


@dataclass(frozen=True)
class LastReport:
    """The latest progress report."""

    as_of: date
    percent: float
    milestones_completed: frozenset[str]


@dataclass(frozen=True)
class ProjectState:
    """A project: none → voted → planned → in_progress → completed → accepted; cancelled on the way."""

    voted: ProjectVoted | None = None
    status: str = "none"
    plan: PlanState | None = None
    last_report: LastReport | None = None
    open_obstacles: Mapping[str, date] = field(default_factory=dict)
    obstacles_reported: int = 0
    obstacle_keys: frozenset[tuple[str, str, date]] = frozenset()  # (kind, description, day): a resend is no new one
    completed_on: date | None = None

    @property
    def responsible_units(self) -> frozenset[str]:
        """The lead unit and the co-units."""
        return frozenset([self.voted.lead_unit, *self.voted.co_units]) if self.voted else frozenset()


def _plan(state: ProjectState, event: PlanSubmitted | PlanRevised) -> PlanState:
    if isinstance(event, PlanSubmitted):
        return PlanState(tuple(event.milestones), event.target_completion, 1, event.submitted_on, event.submitted_on)
    assert state.plan is not None
    return replace(state.plan, milestones=tuple(event.milestones), target_completion=event.target_completion,
                   revision=event.revision, changed_on=event.revised_on)


def evolve(state: ProjectState, event: Event) -> ProjectState:
    """The project after one more event."""
    match event:
        case ProjectVoted():
            return ProjectState(voted=event, status="voted")
        case PlanSubmitted():
            return replace(state, plan=_plan(state, event), status="planned")
        case PlanRevised():
            return replace(state, plan=_plan(state, event))
        case ProgressReported():
            report = LastReport(event.as_of, event.percent, frozenset(event.milestones_completed))
            status = "in_progress" if state.status == "planned" else state.status
            return replace(state, last_report=report, status=status)
        case ObstacleReported():
            return replace(state, open_obstacles={**state.open_obstacles, event.obstacle_id: event.reported_on},
                           obstacles_reported=state.obstacles_reported + 1,
                           obstacle_keys=state.obstacle_keys | {(event.kind, event.description, event.reported_on)})
        case ObstacleResolved():
            rest = {k: v for k, v in state.open_obstacles.items() if k != event.obstacle_id}
            return replace(state, open_obstacles=rest)
        case ProjectCompleted():
            return replace(state, status="completed", completed_on=event.completed_on)
        case ProjectAccepted():
            return replace(state, status="accepted")
        case ProjectCancelled():
            return replace(state, status="cancelled")
    return state


@dataclass(frozen=True)
class World:
    """Facts from other aggregates that a project decision depends on; the handler loads them."""

    year: YearState = field(default_factory=YearState)
    departments: frozenset[str] = frozenset()


def ids(voted: ProjectVoted) -> dict[str, Any]:
    """The identifying fields every project event carries."""
    return {"project_id": voted.project_id, "year": voted.year, "code": voted.code}


def require_project(state: ProjectState, code: str) -> ProjectVoted:
    """The registration of a project that exists, or the refusal."""
    if state.voted is None:
        raise refuse(NotFound, "project_not_found", f"项目 {code} 未登记", f"project {code} is not registered", "code")
    return state.voted


_ENDED = {
    "cancelled": ("project_cancelled", "项目已取消", "the project was cancelled"),
    "accepted": ("project_accepted", "项目已验收", "the project was already accepted"),
    "completed": ("project_completed", "项目已完工", "the project is already completed"),
}


def require_active(state: ProjectState, *, allow_completed: bool = False) -> None:
    """Refuse changes to a cancelled or accepted project (and to a completed one unless allowed)."""
    if state.status in _ENDED and not (allow_completed and state.status == "completed"):
        code, zh, en = _ENDED[state.status]
        raise refuse(Conflict, code, zh, en)


def require_plan(state: ProjectState) -> PlanState:
    """The plan in force, or the refusal."""
    if state.plan is None:
        raise refuse(Conflict, "no_plan", "项目尚未报送实施计划", "the project has no implementation plan yet")
    return state.plan
