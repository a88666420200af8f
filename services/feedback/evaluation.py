"""Pure rules of the year-end evaluation (满意度测评): who may vote on a project, when, and changes.

One stream per (project, delegate): a delegate's vote is its own aggregate, so votes of many
delegates never contend; the results per project are counted by the view.

The facts a vote depends on (the year's window and scope, the project, the delegate and their
group) come from the service's copy of other services' events; the handler loads them and the
decider is built around them, so the rules stay pure and testable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial

from shared.contracts.base import Command, Event
from shared.contracts.feedback import CastEvaluationVote, EvaluationVoteCast, EvaluationVoteChanged
from shared.contracts.projects import PhaseWindow
from shared.decider import DecisionContext, Decider
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.timeutil import local_date


@dataclass(frozen=True)
class VoterFacts:
    """What the copy knows about a vote's year, project and delegate (None: unknown)."""

    project_year: int | None
    window: PhaseWindow | None = None
    scope: str = "group"  # "group": members of the supervising group vote; "all": every active delegate
    year_closed: bool = False
    supervising_group: str | None = None
    delegate_active: bool | None = None
    delegate_group: str | None = None  # the delegate's group in the project's year


@dataclass(frozen=True)
class EvaluationState:
    """A delegate's current vote on one project (None: not voted yet)."""

    rating: str | None = None


def _eligible(cmd: CastEvaluationVote, facts: VoterFacts) -> None:
    if facts.delegate_active is None:
        raise NotFound("代表不存在 / no such delegate", {"delegate_id": cmd.delegate_id})
    if not facts.delegate_active:
        raise Forbidden("该代表任期已结束 / the delegate's term has ended", {"delegate_id": cmd.delegate_id})
    if facts.scope == "group":
        if facts.supervising_group is None:
            raise Conflict("该项目尚未分配联系监督小组 / no group supervises this project yet")
        if facts.delegate_group != facts.supervising_group:
            raise Forbidden("只有联系监督该项目的代表小组成员可以测评 / only members of the supervising group vote",
                            {"delegate_id": cmd.delegate_id, "group_id": facts.supervising_group})


def decide(command: Command, state: EvaluationState, ctx: DecisionContext, facts: VoterFacts) -> Sequence[Event]:
    """The vote event a command causes, nothing if it repeats the current vote, or a HuiminError."""
    if not isinstance(command, CastEvaluationVote):
        raise TypeError(f"evaluation domain cannot decide {type(command).__name__}")
    if facts.project_year is None:
        raise NotFound("项目不存在 / no such project", {"project_id": command.project_id})
    window = facts.window
    if window is None:
        raise Conflict("该年度未设置满意度测评时间 / the year has no evaluation window")
    if facts.year_closed:
        raise Conflict("该年度已结束 / the year is closed")
    today = local_date(ctx.now)
    if today < window.start:
        raise Conflict(f"满意度测评尚未开始（{window.start}起）/ the evaluation opens on {window.start}")
    if today > window.end:
        raise Conflict(f"满意度测评已于{window.end}结束，不能投票或修改 / the evaluation closed on {window.end}")
    voted_on = command.voted_on or today
    if not window.contains(voted_on) or voted_on > today:
        raise ValidationFailed("投票日期有误 / invalid vote date", [{
            "field": "voted_on", "message": "投票日期须在测评期内且不在将来 / within the window and not in the future"}])
    _eligible(command, facts)
    previous = state.rating
    common = dict(project_id=command.project_id, year=facts.project_year, delegate_id=command.delegate_id,
                  rating=command.rating, voted_on=voted_on)
    if previous == command.rating:
        return []
    if previous is None:
        return [EvaluationVoteCast(**common)]
    return [EvaluationVoteChanged(**common, previous=previous)]


def evolve(state: EvaluationState, event: Event) -> EvaluationState:
    """The vote after one more event."""
    if isinstance(event, EvaluationVoteCast | EvaluationVoteChanged):
        return replace(state, rating=event.rating)
    return state


def evaluation_decider(facts: VoterFacts) -> Decider[EvaluationState]:
    """The decider of one project's evaluation, given what is known about the vote."""
    return Decider(initial=EvaluationState(), decide=partial(decide, facts=facts), evolve=evolve)
