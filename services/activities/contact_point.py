"""The ContactPoint aggregate (项目联系点) as a decider: establish, change delegates, log contacts (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from services.activities.references import (
    Problems,
    References,
    check_active_delegates,
    check_project,
    check_unique,
    ensure_year_open,
    require_self,
)
from shared.contracts.activities import (
    ChangeContactPointDelegates,
    ContactLogged,
    ContactPointDelegatesChanged,
    ContactPointEstablished,
    EstablishContactPoint,
    LogContact,
)
from shared.contracts.base import Command, Event
from shared.decider import DecisionContext, Decider
from shared.errors import Conflict, NotFound
from shared.timeutil import local_date


@dataclass(frozen=True)
class ContactPointState:
    """What the rules of a contact point need to know about its past."""

    contact_point_id: str | None = None
    project_id: str = ""
    year: int = 0
    delegate_ids: tuple[str, ...] = ()
    established_on: date | None = None
    log_ids: frozenset[str] = frozenset()


def _check_day(problems: Problems, field_: str, day: date, year: int, today: date) -> None:
    if day > today:
        problems.add(field_, "日期不能在将来", "the date is in the future")
    if day.year != year:
        problems.add(field_, f"日期不在 {year} 年度内", f"the date is outside the year {year}")


def _establish(cmd: EstablishContactPoint, state: ContactPointState, refs: References,
               ctx: DecisionContext) -> list[Event]:
    assert cmd.contact_point_id, "the handler gives every new contact point its id"
    if state.contact_point_id is not None:
        raise Conflict("联系点已存在 / the contact point already exists", {"contact_point_id": cmd.contact_point_id})
    problems = Problems()
    project = check_project(problems, refs, "project_id", cmd.project_id, None, cmd.established_on)
    problems.raise_if_any("联系点有误", "invalid contact point")
    assert project is not None
    year = project.year
    ensure_year_open(refs, year)
    _check_day(problems, "established_on", cmd.established_on, year, local_date(ctx.now))
    check_unique(problems, "delegate_ids", cmd.delegate_ids)
    check_active_delegates(problems, refs, "delegate_ids", cmd.delegate_ids, cmd.established_on)
    problems.raise_if_any("联系点有误", "invalid contact point")
    return [ContactPointEstablished(contact_point_id=cmd.contact_point_id, project_id=cmd.project_id, year=year,
                                    place=cmd.place, delegate_ids=cmd.delegate_ids,
                                    established_on=cmd.established_on, note=cmd.note)]


def _require_established(state: ContactPointState, refs: References) -> None:
    if state.contact_point_id is None:
        raise NotFound("联系点不存在 / no such contact point")
    ensure_year_open(refs, state.year)


def _change(cmd: ChangeContactPointDelegates, state: ContactPointState, refs: References,
            ctx: DecisionContext) -> list[Event]:
    _require_established(state, refs)
    problems = Problems()
    check_unique(problems, "delegate_ids", cmd.delegate_ids)
    check_active_delegates(problems, refs, "delegate_ids", cmd.delegate_ids, local_date(ctx.now))
    if set(cmd.delegate_ids) == set(state.delegate_ids):
        problems.add("delegate_ids", "与现有责任代表相同", "same as the current responsible delegates")
    problems.raise_if_any("责任代表变更有误", "invalid change of responsible delegates")
    return [ContactPointDelegatesChanged(contact_point_id=cmd.contact_point_id, delegate_ids=cmd.delegate_ids,
                                         reason=cmd.reason)]


def _log(cmd: LogContact, state: ContactPointState, refs: References, ctx: DecisionContext) -> list[Event]:
    assert cmd.log_id, "the handler gives every new log its id"
    _require_established(state, refs)
    require_self(ctx, cmd.delegate_id)
    if cmd.log_id in state.log_ids:
        raise Conflict("该联系记录已存在 / the contact log already exists", {"log_id": cmd.log_id})
    assert state.established_on is not None
    problems = Problems()
    if cmd.delegate_id not in state.delegate_ids:
        problems.add("delegate_id", "只有联系点的责任代表可以记录联系", "only the contact point's delegates log contacts")
    else:
        check_active_delegates(problems, refs, "delegate_id", [cmd.delegate_id], cmd.contacted_on)
    _check_day(problems, "contacted_on", cmd.contacted_on, state.year, local_date(ctx.now))
    if cmd.contacted_on < state.established_on:
        problems.add("contacted_on", "联系日期早于联系点建立日期", "the contact is dated before the contact point existed")
    problems.raise_if_any("联系记录有误", "invalid contact log")
    return [ContactLogged(
        contact_point_id=cmd.contact_point_id, log_id=cmd.log_id, project_id=state.project_id,
        year=state.year, delegate_id=cmd.delegate_id, contacted_on=cmd.contacted_on, progress=cmd.progress,
        difficulties=cmd.difficulties, public_response=cmd.public_response, demands=cmd.demands,
        help_given=list(dict.fromkeys(cmd.help_given)), help_note=cmd.help_note,
        attachments=cmd.attachments,
    )]


def evolve(state: ContactPointState, event: Event) -> ContactPointState:
    """The contact point after one more event."""
    match event:
        case ContactPointEstablished():
            return replace(state, contact_point_id=event.contact_point_id, project_id=event.project_id, year=event.year,
                           delegate_ids=tuple(event.delegate_ids), established_on=event.established_on)
        case ContactPointDelegatesChanged():
            return replace(state, delegate_ids=tuple(event.delegate_ids))
        case ContactLogged():
            return replace(state, log_ids=state.log_ids | {event.log_id})
    return state


def contact_point_decider(refs: References) -> Decider[ContactPointState]:
    """The decider of a contact point, given what it needs of other services' data."""

    def decide(command: Command, state: ContactPointState, ctx: DecisionContext) -> Sequence[Event]:
        match command:
            case EstablishContactPoint():
                return _establish(command, state, refs, ctx)
            case ChangeContactPointDelegates():
                return _change(command, state, refs, ctx)
            case LogContact():
                return _log(command, state, refs, ctx)
        raise TypeError(f"contact points cannot decide {type(command).__name__}")

    return Decider(initial=ContactPointState(), decide=decide, evolve=evolve)
