"""The Delegate aggregate: registration, details, end of term."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from services.delegates.domain.rules import Problems, check_ethnicity, check_not_future, today
from shared.contracts.base import Command, Event
from shared.contracts.delegates import (
    ChangeDelegateDetails,
    DelegateDetailsChanged,
    DelegateDetailsFields,
    DelegateRegistered,
    DelegateTermEnded,
    EndDelegateTerm,
    RegisterDelegate,
)
from shared.decider import DecisionContext, Decider
from shared.errors import Conflict, NotFound

_DETAIL_FIELDS = tuple(DelegateDetailsChanged.model_fields.keys() - {"delegate_id", "reason"})


@dataclass(frozen=True)
class DelegateState:
    """What the rules of a delegate need to know about its past."""

    delegate_id: str | None = None
    details: dict[str, Any] | None = None  # JSON form of the current details, for "unchanged" checks
    term_start: date | None = None
    ended_on: date | None = None

    @property
    def registered(self) -> bool:
        """Whether the delegate is on the roster."""
        return self.delegate_id is not None


def details_of(source: DelegateDetailsFields | Event) -> dict[str, Any]:
    """The comparable (JSON) details of a command or event."""
    data = source.model_dump(mode="json")
    return {k: data[k] for k in _DETAIL_FIELDS}


def _check_details(cmd: DelegateDetailsFields, problems: Problems) -> None:
    check_ethnicity(problems, cmd.ethnicity)


def _register(cmd: RegisterDelegate, state: DelegateState, ctx: DecisionContext) -> list[Event]:
    if state.registered:
        raise Conflict("该代表已登记 / delegate already registered", {"delegate_id": cmd.delegate_id})
    problems = Problems()
    _check_details(cmd, problems)
    check_not_future(problems, "term_start", cmd.term_start, today(ctx.now))
    problems.raise_if_any("代表信息有误", "invalid delegate details")
    return [DelegateRegistered(**cmd.details(), term_start=cmd.term_start)]


def _change(cmd: ChangeDelegateDetails, state: DelegateState) -> list[Event]:
    _require_active(state, cmd.delegate_id)
    problems = Problems()
    _check_details(cmd, problems)
    problems.raise_if_any("代表信息有误", "invalid delegate details")
    if details_of(cmd) == state.details:
        return []  # nothing changed: a re-imported roster records nothing
    return [DelegateDetailsChanged(**cmd.details(), reason=cmd.reason)]


def _end_term(cmd: EndDelegateTerm, state: DelegateState, ctx: DecisionContext) -> list[Event]:
    _require_active(state, cmd.delegate_id)
    problems = Problems()
    check_not_future(problems, "ended_on", cmd.ended_on, today(ctx.now))
    if state.term_start and cmd.ended_on < state.term_start:
        problems.add("ended_on", "任期结束日期早于任期开始", "the term cannot end before it started")
    problems.raise_if_any("任期结束信息有误", "invalid end of term")
    return [DelegateTermEnded(delegate_id=cmd.delegate_id, ended_on=cmd.ended_on, reason=cmd.reason)]


def _require_active(state: DelegateState, delegate_id: str) -> None:
    if not state.registered:
        raise NotFound(f"未找到代表 {delegate_id} / delegate not found", {"delegate_id": delegate_id})
    if state.ended_on is not None:
        raise Conflict(f"代表任期已于 {state.ended_on} 结束 / the delegate's term has ended",
                       {"delegate_id": delegate_id, "ended_on": str(state.ended_on)})


def decide(command: Command, state: DelegateState, ctx: DecisionContext) -> Sequence[Event]:
    """The events a command causes on a delegate, or a HuiminError if a rule forbids it."""
    match command:
        case RegisterDelegate():
            return _register(command, state, ctx)
        case ChangeDelegateDetails():
            return _change(command, state)
        case EndDelegateTerm():
            return _end_term(command, state, ctx)
    raise TypeError(f"delegate domain cannot decide {type(command).__name__}")


def evolve(state: DelegateState, event: Event) -> DelegateState:
    """The delegate after one more event."""
    match event:
        case DelegateRegistered():
            return DelegateState(delegate_id=event.delegate_id, details=details_of(event), term_start=event.term_start)
        case DelegateDetailsChanged():
            return replace(state, details=details_of(event))
        case DelegateTermEnded():
            return replace(state, ended_on=event.ended_on)
    return state


delegate_decider: Decider[DelegateState] = Decider(initial=DelegateState(), decide=decide, evolve=evolve)
