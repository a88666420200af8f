"""The Department aggregate: the registry of units that lead or co-operate on projects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.projects.rules import refuse
from shared.contracts.base import Command, Event
from shared.contracts.projects import DepartmentRegistered, RegisterDepartment
from shared.decider import DecisionContext, Decider
from shared.errors import Conflict


@dataclass(frozen=True)
class DepartmentState:
    """A registered department, or nothing yet."""

    code: str | None = None
    name: str = ""
    short_name: str = ""


def registered(cmd: RegisterDepartment) -> DepartmentRegistered:
    """The event registering a department (also what an import compares a row with)."""
    return DepartmentRegistered(code=cmd.code, name=cmd.full_name, short_name=cmd.short_name)


def decide(command: Command, state: DepartmentState, ctx: DecisionContext) -> Sequence[Event]:
    """The events a command causes on a department, or the refusal."""
    match command:
        case RegisterDepartment():
            if state.code is not None:
                raise refuse(Conflict, "department_exists", f"部门代码 {command.code} 已登记（{state.name}）",
                             f"department code {command.code} is already registered ({state.name})", "code")
            return [registered(command)]
    raise TypeError(f"department cannot decide {type(command).__name__}")


def evolve(state: DepartmentState, event: Event) -> DepartmentState:
    """The department after one more event."""
    match event:
        case DepartmentRegistered():
            return DepartmentState(code=event.code, name=event.name, short_name=event.short_name)
    return state


department_decider: Decider[DepartmentState] = Decider(initial=DepartmentState(), decide=decide, evolve=evolve)
