"""The decider pattern: pure decide(command, state, ctx) -> events and evolve(state, event) -> state."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from shared.contracts.base import Command, Event

S = TypeVar("S")


@dataclass(frozen=True)
class DecisionContext:
    """What a decision may depend on besides command and state: the time (UTC) and who acts."""

    now: datetime
    actor: str


@dataclass(frozen=True)
class Decider(Generic[S]):
    """An aggregate's behaviour as two pure functions and an initial state."""

    initial: S
    decide: Callable[[Command, S, DecisionContext], Sequence[Event]]
    evolve: Callable[[S, Event], S]

    def fold(self, events: Iterable[Event]) -> S:
        """The state after the given history."""
        return self.fold_from(self.initial, events)

    def fold_from(self, state: S, events: Iterable[Event]) -> S:
        """The state after more events, from a state already folded."""
        evolve = self.evolve
        for event in events:
            state = evolve(state, event)
        return state
