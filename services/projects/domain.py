"""Pure domain of a project: decide(command, state, ctx) -> events, evolve(state, event) -> state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from shared.contracts.base import Command, Event
from shared.contracts.projects import ProjectVoted, RegisterVotedProject, project_stream_id
from shared.decider import DecisionContext, Decider
from shared.errors import Conflict, ValidationFailed
from shared.timeutil import local_date


@dataclass(frozen=True)
class ProjectState:
    """What the rules of a project need to know about its past."""

    project_id: str | None = None
    year: int | None = None
    lead_unit: str | None = None
    status: str = "none"


def _register(cmd: RegisterVotedProject, state: ProjectState, ctx: DecisionContext) -> list[Event]:
    if state.status != "none":
        raise Conflict("该项目已登记 / project already registered", {"project_id": state.project_id})
    problems = []
    total = cmd.votes_for + cmd.votes_against + cmd.votes_abstain
    if total == 0:
        problems.append({"field": "votes_for", "message": "票数合计为零 / no votes recorded"})
    elif cmd.votes_for * 2 <= total:
        problems.append({"field": "votes_for", "message": "赞成票未过半数，项目未通过 / not adopted by a majority"})
    if cmd.voted_on > local_date(ctx.now):
        problems.append({"field": "voted_on", "message": "票决日期不能在将来 / vote date is in the future"})
    if cmd.voted_on.year != cmd.year:
        problems.append({"field": "voted_on", "message": "票决日期不在该年度 / vote date is outside the year"})
    if problems:
        raise ValidationFailed("项目登记有误 / invalid project registration", problems)
    return [ProjectVoted(project_id=project_stream_id(cmd.year, cmd.code), **cmd.model_dump())]


def decide(command: Command, state: ProjectState, ctx: DecisionContext) -> Sequence[Event]:
    """The events a command causes on a project, or a HuiminError if a rule forbids it."""
    match command:
        case RegisterVotedProject():
            return _register(command, state, ctx)
    raise TypeError(f"projects domain cannot decide {type(command).__name__}")


def evolve(state: ProjectState, event: Event) -> ProjectState:
    """The project after one more event."""
    match event:
        case ProjectVoted():
            return replace(state, project_id=event.project_id, year=event.year, lead_unit=event.lead_unit, status="voted")
    return state


project_decider: Decider[ProjectState] = Decider(initial=ProjectState(), decide=decide, evolve=evolve)
