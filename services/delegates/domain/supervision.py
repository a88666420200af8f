"""The Supervision aggregate (联系监督) of one project: leader, committee, group, and contact duty."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from services.delegates.domain.facts import Facts, ProjectFact
from services.delegates.domain.rules import Problems
from shared.contracts.base import Command, Event
from shared.contracts.delegates import (
    AssignContactDuty,
    AssignSupervision,
    ContactDutyAssigned,
    ContactDutyReleased,
    ReleaseContactDuty,
    SupervisionAssigned,
)
from shared.decider import DecisionContext, Decider
from shared.errors import Conflict, NotFound


@dataclass(frozen=True)
class SupervisionState:
    """The current assignment of a project and the delegates on contact duty."""

    project_id: str | None = None
    year: int | None = None
    leader_id: str | None = None
    committee_id: str | None = None
    group_id: str | None = None
    duties: frozenset[str] = frozenset()

    @property
    def assigned(self) -> bool:
        """Whether a (leader, committee, group) is assigned."""
        return self.group_id is not None


def _open_project(facts: Facts, project_id: str) -> ProjectFact:
    """The project, if it is known and its year is open; else the reason why not."""
    project = facts.project
    if project is None:
        raise NotFound(f"未找到项目 {project_id}（或尚未同步） / project not found (or not received yet)",
                       {"project_id": project_id})
    if facts.year is None or not facts.year.open:
        state = "已关闭" if facts.year_closed() else "尚未开启"
        raise Conflict(f"{project.year} 年度{state}，不能安排联系监督 / supervision is assigned only in an open year",
                       {"project_id": project_id, "year": project.year})
    return project


def _project_in_work(facts: Facts, project_id: str) -> ProjectFact:
    """The project, if its year is open and it was not cancelled: new supervision work may be recorded."""
    project = _open_project(facts, project_id)
    if project.cancelled_on is not None:
        raise Conflict("项目已撤销 / the project was cancelled",
                       {"project_id": project_id, "cancelled_on": str(project.cancelled_on)})
    return project


def _duties_ending(state: SupervisionState, group_id: str, facts: Facts) -> list[str]:
    """Delegates whose contact duty ends when the project's group becomes `group_id`.

    Contact duty is the assigned group's own responsibility system (seed: 各联系代表小组实行代表联系
    责任制), so a duty stands only for a member of the new group; the others' duties (also those once
    named outside the old group with an override reason) end with the old group's assignment.
    """
    if state.group_id in (None, group_id):
        return []
    return sorted(d for d in state.duties if facts.memberships.get(d) != group_id)


def _assign(cmd: AssignSupervision, state: SupervisionState, facts: Facts) -> list[Event]:
    project = _project_in_work(facts, cmd.project_id)
    problems = Problems()
    if cmd.leader_id not in facts.leader_ids:
        problems.add("leader_id", f"未知常委会领导 {cmd.leader_id}", f"unknown leader {cmd.leader_id}")
    if cmd.committee_id not in facts.committee_ids:
        problems.add("committee_id", f"未知专工委 {cmd.committee_id}", f"unknown committee {cmd.committee_id}")
    if facts.group is None:
        problems.add("group_id", f"未知代表小组 {cmd.group_id}", f"unknown group {cmd.group_id}")
    elif facts.group.year != project.year:
        problems.add("group_id", f"代表小组属于 {facts.group.year} 年度，项目属于 {project.year} 年度",
                     f"the group is of {facts.group.year}, the project of {project.year}")
    triple = (cmd.leader_id, cmd.committee_id, cmd.group_id)
    changing = state.assigned and triple != (state.leader_id, state.committee_id, state.group_id)
    if changing and len(cmd.reason.strip()) < 2:
        problems.add("reason", "变更联系监督安排须说明原因", "a change of assignment needs a reason")
    problems.raise_if_any("联系监督安排有误", "invalid supervision assignment")
    if state.assigned and not changing:
        return []  # the same assignment again records nothing
    assigned = SupervisionAssigned(project_id=cmd.project_id, year=project.year, leader_id=cmd.leader_id,
                                   committee_id=cmd.committee_id, group_id=cmd.group_id, reason=cmd.reason)
    why = f"联系监督代表小组由 {state.group_id} 变更为 {cmd.group_id}"
    return [assigned, *(ContactDutyReleased(project_id=cmd.project_id, year=project.year, delegate_id=d, reason=why)
                        for d in _duties_ending(state, cmd.group_id, facts))]


def _assign_duty(cmd: AssignContactDuty, state: SupervisionState, facts: Facts) -> list[Event]:
    project = _project_in_work(facts, cmd.project_id)
    if not state.assigned:
        raise Conflict("请先安排该项目的联系监督代表小组 / assign the project's group first",
                       {"project_id": cmd.project_id})
    already = [d for d in cmd.delegate_ids if d in state.duties]
    if already:
        raise Conflict("部分代表已负责联系该项目 / some delegates already have contact duty on this project",
                       {"delegate_ids": already})
    problems, outsiders = Problems(), []
    for i, delegate_id in enumerate(cmd.delegate_ids):
        delegate = facts.delegates.get(delegate_id)
        if delegate is None:
            problems.add(f"delegate_ids.{i}", f"未知代表 {delegate_id}", f"unknown delegate {delegate_id}")
        elif not delegate.active:
            problems.add(f"delegate_ids.{i}", f"代表 {delegate.name} 任期已结束", f"{delegate_id}'s term has ended")
        elif facts.memberships.get(delegate_id) != state.group_id:
            outsiders.append((i, delegate))
    if outsiders and len(cmd.override_reason.strip()) < 2:
        for i, delegate in outsiders:
            problems.add(f"delegate_ids.{i}",
                         f"代表 {delegate.name} 不在联系该项目的代表小组，如确需安排请说明原因（override_reason）",
                         f"{delegate.delegate_id} is not in the assigned group; give an override_reason")
    problems.raise_if_any("联系代表安排有误", "invalid contact duty")
    return [ContactDutyAssigned(project_id=cmd.project_id, year=project.year, delegate_ids=cmd.delegate_ids,
                                override_reason=cmd.override_reason if outsiders else "")]


def _release(cmd: ReleaseContactDuty, state: SupervisionState, facts: Facts) -> list[Event]:
    project = _open_project(facts, cmd.project_id)
    if cmd.delegate_id not in state.duties:
        raise Conflict("该代表未负责联系该项目 / the delegate has no contact duty on this project",
                       {"delegate_id": cmd.delegate_id})
    return [ContactDutyReleased(project_id=cmd.project_id, year=project.year, delegate_id=cmd.delegate_id,
                                reason=cmd.reason)]


def decide(command: Command, state: SupervisionState, ctx: DecisionContext, facts: Facts) -> Sequence[Event]:
    """The events a command causes on a project's supervision, or a HuiminError if a rule forbids it."""
    match command:
        case AssignSupervision():
            return _assign(command, state, facts)
        case AssignContactDuty():
            return _assign_duty(command, state, facts)
        case ReleaseContactDuty():
            return _release(command, state, facts)
    raise TypeError(f"supervision domain cannot decide {type(command).__name__}")


def evolve(state: SupervisionState, event: Event) -> SupervisionState:
    """The supervision after one more event."""
    match event:
        case SupervisionAssigned():
            return replace(state, project_id=event.project_id, year=event.year, leader_id=event.leader_id,
                           committee_id=event.committee_id, group_id=event.group_id)
        case ContactDutyAssigned():
            return replace(state, duties=state.duties | set(event.delegate_ids))
        case ContactDutyReleased():
            return replace(state, duties=state.duties - {event.delegate_id})
    return state


def supervision_decider(facts: Facts) -> Decider[SupervisionState]:
    """The supervision decider, deciding with these cross-aggregate facts."""
    return Decider(initial=SupervisionState(), decide=lambda c, s, x: decide(c, s, x, facts), evolve=evolve)
