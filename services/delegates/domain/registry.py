"""The small registry of standing-committee leaders (常委会领导) and special committees (专工委)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.delegates.domain.facts import Facts
from services.delegates.domain.rules import Problems
from shared.contracts.base import Command, Event
from shared.contracts.delegates import CommitteeRegistered, LeaderRegistered, RegisterCommittee, RegisterLeader
from shared.decider import DecisionContext, Decider
from shared.errors import Conflict


@dataclass(frozen=True)
class EntryState:
    """Whether a registry entry exists."""

    registered: bool = False


def decide(command: Command, state: EntryState, ctx: DecisionContext, facts: Facts) -> Sequence[Event]:
    """The events registering a leader or committee, or a HuiminError if a rule forbids it."""
    match command:
        case RegisterLeader():
            if state.registered:
                raise Conflict("该领导已登记 / leader already registered", {"leader_id": command.leader_id})
            problems = Problems()
            for i, committee_id in enumerate(command.committee_ids):
                if committee_id not in facts.committee_ids:
                    problems.add(f"committee_ids.{i}", f"未知专工委 {committee_id}", f"unknown committee {committee_id}")
            problems.raise_if_any("领导信息有误", "invalid leader")
            return [LeaderRegistered(leader_id=command.leader_id, name=command.leader_name, title=command.title,
                                     committee_ids=command.committee_ids)]
        case RegisterCommittee():
            if state.registered:
                raise Conflict("该专工委已登记 / committee already registered", {"committee_id": command.committee_id})
            return [CommitteeRegistered(committee_id=command.committee_id, name=command.committee_name,
                                        categories=command.categories)]
    raise TypeError(f"registry domain cannot decide {type(command).__name__}")


def evolve(state: EntryState, event: Event) -> EntryState:
    """The entry after one more event."""
    return EntryState(registered=True) if isinstance(event, LeaderRegistered | CommitteeRegistered) else state


def registry_decider(facts: Facts) -> Decider[EntryState]:
    """The registry decider, deciding with these facts (the known committees)."""
    return Decider(initial=EntryState(), decide=lambda c, s, x: decide(c, s, x, facts), evolve=evolve)
