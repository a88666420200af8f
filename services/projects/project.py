"""The Project aggregate: registration by vote, then plan, progress, obstacles, completion, acceptance."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from services.projects import progress
from services.projects.project_state import (
    ProjectState, World, evolve, ids, require_active, require_plan, require_project,
)
from services.projects.rules import Problems, check_day, refuse
from services.projects.year import require_open_year
from shared.contracts.base import Command, Event
from shared.contracts.projects import (
    AcceptProject, CancelProject, CompleteProject, ProjectAccepted, ProjectCancelled, ProjectCompleted, ProjectVoted,
    RegisterVotedProject, ReportObstacle, ReportProgress, ResolveObstacle, RevisePlan, SubmitPlan, project_stream_id,
)
from shared.decider import DecisionContext, Decider
from shared.errors import Conflict
from shared.timeutil import local_date


def voted_event(cmd: RegisterVotedProject) -> ProjectVoted:
    """The event registering a voted project (also what an import compares a row with)."""
    return ProjectVoted(project_id=project_stream_id(cmd.year, cmd.code), **cmd.model_dump())


def _units(p: Problems, cmd: RegisterVotedProject, departments: frozenset[str]) -> None:
    if cmd.lead_unit not in departments:
        p.add("lead_unit", f"牵头单位 {cmd.lead_unit} 未登记",
              f"lead unit {cmd.lead_unit} is not registered", code="unknown_department")
    seen: set[str] = set()
    for i, unit in enumerate(cmd.co_units):
        field = f"co_units.{i}"
        if unit not in departments:
            p.add(field, f"配合单位 {unit} 未登记", f"co-unit {unit} is not registered", code="unknown_department")
        if unit == cmd.lead_unit:
            p.add(field, "牵头单位不能同时是配合单位", "the lead unit cannot also be a co-unit",
                  code="lead_also_co_unit")
        elif unit in seen:
            p.add(field, f"配合单位 {unit} 重复", f"co-unit {unit} repeated", code="duplicate_co_unit")
        seen.add(unit)


def register(cmd: RegisterVotedProject, state: ProjectState, world: World, today: date) -> list[Event]:
    """A project adopted by a majority at the session's vote, led and assisted by registered departments."""
    cal = require_open_year(world.year, cmd.year)
    if state.voted is not None:
        raise refuse(Conflict, "project_exists", f"项目 {cmd.code} 已登记", f"project {cmd.code} is already registered",
                     "code")
    p = Problems()
    total = cmd.votes_for + cmd.votes_against + cmd.votes_abstain
    if total == 0:
        p.add("votes_for", "票数合计为零", "no votes recorded", code="no_votes")
    elif cmd.votes_for * 2 <= total:
        p.add("votes_for", "赞成票未过半数，项目未通过", "not adopted by a majority", code="not_adopted")
    check_day(p, "voted_on", cmd.voted_on, year=cmd.year, today=today)
    if not cal.session_start <= cmd.voted_on <= cal.session_end:
        p.add("voted_on", f"票决日期不在人代会会期内（{cal.session_start}～{cal.session_end}）",
              f"the vote date is outside the session ({cal.session_start} to {cal.session_end})",
              code="vote_outside_session")
    _units(p, cmd, world.departments)
    for i, loc in enumerate(cmd.locations):
        if loc.township not in cmd.townships:
            p.add(f"locations.{i}.township", f"地点所在乡镇“{loc.township}”未列入项目乡镇",
                  f"township {loc.township!r} of a location is not among the project's townships",
                  code="location_township_unlisted")
    p.raise_if_any("项目登记有误", "invalid project registration")
    return [voted_event(cmd)]


def complete(cmd: CompleteProject, state: ProjectState, world: World, today: date) -> list[Event]:
    """Works finished: a plan, a last report at 100 % and no open obstacle are needed."""
    require_open_year(world.year, cmd.year)
    voted = require_project(state, cmd.code)
    require_active(state)
    require_plan(state)
    last = state.last_report
    if last is None or last.percent < 100:
        raise refuse(Conflict, "not_fully_reported", "最近一次进度报告未达到 100%，不能完工",
                     "the latest progress report is below 100 %: the project cannot be completed")
    if state.open_obstacles:
        open_ids = ", ".join(sorted(state.open_obstacles))
        raise refuse(Conflict, "open_obstacles", f"尚有未解决的阻碍（{open_ids}）", f"obstacles still open ({open_ids})")
    p = Problems()
    check_day(p, "completed_on", cmd.completed_on, year=cmd.year, today=today,
              earliest=(last.as_of, "date_before_last_report", "最近一次进度报告日期", "the latest progress report"))
    p.raise_if_any("完工信息有误", "invalid completion")
    return [ProjectCompleted(**ids(voted), completed_on=cmd.completed_on, summary=cmd.summary)]


def accept(cmd: AcceptProject, state: ProjectState, world: World, today: date) -> list[Event]:
    """Acceptance (验收) of a completed project, on or after its completion."""
    require_open_year(world.year, cmd.year)
    voted = require_project(state, cmd.code)
    if state.status != "completed":
        require_active(state)
        raise refuse(Conflict, "not_completed", "项目尚未完工，不能验收", "the project is not completed yet")
    assert state.completed_on is not None
    p = Problems()
    check_day(p, "accepted_on", cmd.accepted_on, year=cmd.year, today=today,
              earliest=(state.completed_on, "date_before_completion", "完工日期", "the completion"))
    p.raise_if_any("验收信息有误", "invalid acceptance")
    return [ProjectAccepted(**ids(voted), accepted_on=cmd.accepted_on, accepted_by=cmd.accepted_by,
                            conclusion=cmd.conclusion)]


def cancel(cmd: CancelProject, state: ProjectState, world: World, today: date) -> list[Event]:
    """Cancellation, with a reason, of a project not yet completed."""
    require_open_year(world.year, cmd.year)
    voted = require_project(state, cmd.code)
    require_active(state)
    p = Problems()
    check_day(p, "cancelled_on", cmd.cancelled_on, year=cmd.year, today=today,
              earliest=(voted.voted_on, "date_before_vote", "票决日期", "the vote"))
    p.raise_if_any("取消信息有误", "invalid cancellation")
    return [ProjectCancelled(**ids(voted), cancelled_on=cmd.cancelled_on, reason=cmd.reason)]


_RULES: dict[type[Command], Callable[[Any, ProjectState, World, date], Sequence[Event]]] = {
    RegisterVotedProject: register,
    SubmitPlan: progress.submit_plan,
    RevisePlan: progress.revise_plan,
    ReportProgress: progress.report_progress,
    ReportObstacle: progress.report_obstacle,
    ResolveObstacle: progress.resolve_obstacle,
    CompleteProject: complete,
    AcceptProject: accept,
    CancelProject: cancel,
}
COMMANDS = tuple(_RULES)


def project_decider(world: World | None = None) -> Decider[ProjectState]:
    """The project decider, deciding with the given facts of the year and the department registry."""
    facts = world or World()

    def decide(command: Command, state: ProjectState, ctx: DecisionContext) -> Sequence[Event]:
        rule = _RULES.get(type(command))
        if rule is None:
            raise TypeError(f"project cannot decide {type(command).__name__}")
        return rule(command, state, facts, local_date(ctx.now))

    return Decider(initial=ProjectState(), decide=decide, evolve=evolve)
