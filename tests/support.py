"""given/when/then for deciders: given(history).when(command).then(events) or .raises(error)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.contracts.base import Command, Event
from shared.decider import DecisionContext, Decider
from shared.errors import HuiminError

DEFAULT_NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


@dataclass
class Scenario:
    """A decider test: history, then a command, then the expected outcome."""

    decider: Decider[Any]
    history: Sequence[Event]
    now: datetime = DEFAULT_NOW
    actor: str = "office:test"
    command: Command | None = field(default=None)

    def when(self, command: Command, *, now: datetime | None = None) -> Scenario:
        """The command under test (and optionally the time it is decided at)."""
        self.command, self.now = command, now or self.now
        return self

    def _decide(self) -> Sequence[Event]:
        assert self.command is not None, "call .when(command) first"
        state = self.decider.fold(self.history)
        return self.decider.decide(self.command, state, DecisionContext(now=self.now, actor=self.actor))

    def then(self, *expected: Event) -> Sequence[Event]:
        """Assert the command produces exactly these events."""
        events = self._decide()
        assert list(events) == list(expected)
        return events

    def raises(self, error: type[HuiminError], match: str | None = None) -> HuiminError:
        """Assert the command is refused with this error."""
        with pytest.raises(error, match=match) as info:
            self._decide()
        return info.value


def given(decider: Decider[Any], *history: Event) -> Scenario:
    """Start a scenario from a history of events."""
    return Scenario(decider, history)
