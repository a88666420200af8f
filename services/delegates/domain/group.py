"""The Group aggregate (代表小组): formation for a year, members (one group per delegate per year), leader."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from services.delegates.domain.facts import Facts
from shared.contracts.base import Command, Event
from shared.contracts.delegates import (
    AddGroupMember,
    AppointGroupLeader,
    FormGroup,
    GroupFormed,
    GroupLeaderAppointed,
    GroupMemberJoined,
    GroupMemberLeft,
    RemoveGroupMember,
)
from shared.decider import DecisionContext, Decider
from shared.errors import Conflict, NotFound


@dataclass(frozen=True)
class GroupState:
    """What the rules of a group need to know about its past."""

    group_id: str | None = None
    year: int | None = None
    name: str = ""
    members: frozenset[str] = frozenset()
    leader_id: str | None = None


def _form(cmd: FormGroup, state: GroupState, facts: Facts) -> list[Event]:
    if state.group_id is not None:
        raise Conflict("该代表小组已成立 / group already formed", {"group_id": cmd.group_id})
    _refuse_closed_year(facts, cmd.year)
    return [GroupFormed(group_id=cmd.group_id, year=cmd.year, name=cmd.group_name, kind=cmd.kind,
                        township=cmd.township, location=cmd.location)]


def _join(cmd: AddGroupMember, state: GroupState, facts: Facts) -> list[Event]:
    year = _require_formed(state, cmd.group_id)
    _refuse_closed_year(facts, year)
    _require_active_delegate(facts, cmd.delegate_id)
    if cmd.delegate_id in state.members:
        raise Conflict("该代表已是本小组成员 / already a member of this group",
                       {"group_id": cmd.group_id, "delegate_id": cmd.delegate_id})
    other = facts.memberships.get(cmd.delegate_id)
    if other is not None and other != cmd.group_id:
        raise Conflict(f"该代表 {year} 年度已在代表小组 {other}，请先退出 / the delegate is already in group {other} "
                       f"for {year}; a delegate is in one group per year",
                       {"delegate_id": cmd.delegate_id, "group_id": other, "year": year})
    return [GroupMemberJoined(group_id=cmd.group_id, year=year, delegate_id=cmd.delegate_id)]


def _leave(cmd: RemoveGroupMember, state: GroupState, facts: Facts) -> list[Event]:
    year = _require_formed(state, cmd.group_id)
    _refuse_closed_year(facts, year)
    _require_member(state, cmd.delegate_id)
    return [GroupMemberLeft(group_id=cmd.group_id, year=year, delegate_id=cmd.delegate_id, reason=cmd.reason)]


def _appoint(cmd: AppointGroupLeader, state: GroupState, facts: Facts) -> list[Event]:
    year = _require_formed(state, cmd.group_id)
    _refuse_closed_year(facts, year)
    _require_member(state, cmd.delegate_id)
    _require_active_delegate(facts, cmd.delegate_id)
    if state.leader_id == cmd.delegate_id:
        raise Conflict("该代表已是组长 / already the group's leader", {"delegate_id": cmd.delegate_id})
    return [GroupLeaderAppointed(group_id=cmd.group_id, year=year, delegate_id=cmd.delegate_id)]


def _require_formed(state: GroupState, group_id: str) -> int:
    if state.group_id is None or state.year is None:
        raise NotFound(f"未找到代表小组 {group_id} / group not found", {"group_id": group_id})
    return state.year


def _require_member(state: GroupState, delegate_id: str) -> None:
    if delegate_id not in state.members:
        raise Conflict("该代表不是本小组成员 / not a member of this group",
                       {"group_id": state.group_id, "delegate_id": delegate_id})


def _require_active_delegate(facts: Facts, delegate_id: str) -> None:
    delegate = facts.delegates.get(delegate_id)
    if delegate is None:
        raise NotFound(f"未找到代表 {delegate_id} / delegate not found", {"delegate_id": delegate_id})
    if not delegate.active:
        raise Conflict(f"代表 {delegate.name} 任期已结束 / the delegate's term has ended", {"delegate_id": delegate_id})


def _refuse_closed_year(facts: Facts, year: int) -> None:
    if facts.year_closed():
        raise Conflict(f"{year} 年度记录已关闭 / the records of {year} are closed", {"year": year})


def decide(command: Command, state: GroupState, ctx: DecisionContext, facts: Facts) -> Sequence[Event]:
    """The events a command causes on a group, or a HuiminError if a rule forbids it."""
    match command:
        case FormGroup():
            return _form(command, state, facts)
        case AddGroupMember():
            return _join(command, state, facts)
        case RemoveGroupMember():
            return _leave(command, state, facts)
        case AppointGroupLeader():
            return _appoint(command, state, facts)
    raise TypeError(f"group domain cannot decide {type(command).__name__}")


def evolve(state: GroupState, event: Event) -> GroupState:
    """The group after one more event."""
    match event:
        case GroupFormed():
            return GroupState(group_id=event.group_id, year=event.year, name=event.name)
        case GroupMemberJoined():
            return replace(state, members=state.members | {event.delegate_id})
        case GroupMemberLeft():
            leader = None if state.leader_id == event.delegate_id else state.leader_id
            return replace(state, members=state.members - {event.delegate_id}, leader_id=leader)
        case GroupLeaderAppointed():
            return replace(state, leader_id=event.delegate_id)
    return state


def group_decider(facts: Facts) -> Decider[GroupState]:
    """The group decider, deciding with these cross-aggregate facts."""
    return Decider(initial=GroupState(), decide=lambda c, s, x: decide(c, s, x, facts), evolve=evolve)
