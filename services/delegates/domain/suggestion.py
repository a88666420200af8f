"""The supervision suggestion for a project: groups and delegates by proximity, committees by
subject, leaders by the committees they are in charge of; lighter load this year breaks ties."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.delegates.domain.facts import DelegateFact, GroupFact, ProjectFact
from services.delegates.domain.proximity import Place, Target, place, rank


@dataclass(frozen=True)
class CommitteeInfo:
    """A special committee and the project categories it covers."""

    committee_id: str
    name: str
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class LeaderInfo:
    """A standing-committee leader and the committees in their charge."""

    leader_id: str
    name: str
    title: str = ""
    committee_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class SuggestionInput:
    """Everything a suggestion is computed from (the project's year only)."""

    project: ProjectFact
    groups: Sequence[GroupFact] = ()
    members: Mapping[str, Sequence[str]] = field(default_factory=dict)  # group id -> member ids
    delegates: Sequence[DelegateFact] = ()  # active delegates
    memberships: Mapping[str, str] = field(default_factory=dict)  # delegate id -> group id
    committees: Sequence[CommitteeInfo] = ()
    leaders: Sequence[LeaderInfo] = ()
    committee_load: Mapping[str, int] = field(default_factory=dict)  # other projects assigned this year
    leader_load: Mapping[str, int] = field(default_factory=dict)


def delegate_places(d: DelegateFact) -> list[Place]:
    """Where a delegate lives and works; the constituency's township when neither is known."""
    places = [place(kind, loc) for kind, loc in (("home", d.home), ("work", d.work)) if loc is not None]
    return places or ([Place("constituency", d.constituency)] if d.constituency else [])


def group_places(g: GroupFact) -> list[Place]:
    """Where a group is organised."""
    return [place("group", g.location) if g.location else Place("group", g.township)]


def rank_groups(inp: SuggestionInput, target: Target) -> list[dict[str, Any]]:
    """Groups of the project's year, nearest first."""
    by_id = {g.group_id: g for g in inp.groups}
    delegates = {d.delegate_id: d for d in inp.delegates}
    out = []
    for n in rank(((g.group_id, group_places(g)) for g in inp.groups), target):
        g, members = by_id[n.key], inp.members.get(n.key, ())
        near = sum(1 for m in members if m in delegates
                   and any(p.township in target.townships for p in delegate_places(delegates[m])))
        out.append({"group_id": g.group_id, "name": g.name, "kind": g.kind, "township": g.township,
                    "leader_id": g.leader_id, "members": len(members), "members_near": near,
                    "same_township": n.same_township, "distance_km": n.distance_km, "reason": n.reason})
    return out


def rank_delegates(inp: SuggestionInput, target: Target, only_group: str | None) -> list[dict[str, Any]]:
    """Active delegates (of one group, if asked), nearest first."""
    pool = [d for d in inp.delegates if only_group is None or inp.memberships.get(d.delegate_id) == only_group]
    by_id = {d.delegate_id: d for d in pool}
    return [{"delegate_id": n.key, "name": by_id[n.key].name, "level": by_id[n.key].level,
             "group_id": inp.memberships.get(n.key), "same_township": n.same_township,
             "distance_km": n.distance_km, "via": n.via, "reason": n.reason}
            for n in rank(((d.delegate_id, delegate_places(d)) for d in pool), target)]


def rank_committees(inp: SuggestionInput) -> list[dict[str, Any]]:
    """Committees covering the project's category first, then the least loaded, then by id."""
    category = inp.project.category

    def key(c: CommitteeInfo) -> tuple[int, int, str]:
        return (0 if category in c.categories else 1, inp.committee_load.get(c.committee_id, 0), c.committee_id)

    out = []
    for c in sorted(inp.committees, key=key):
        covers, load = category in c.categories, inp.committee_load.get(c.committee_id, 0)
        reason = f"对口“{category}”类项目" if covers else "非对口类别"
        out.append({"committee_id": c.committee_id, "name": c.name, "covers_category": covers, "load": load,
                    "reason": f"{reason}；本年度已联系其他项目{load}个"})
    return out


def rank_leaders(inp: SuggestionInput, committee_id: str | None) -> list[dict[str, Any]]:
    """Leaders in charge of the suggested committee first, then the least loaded, then by id."""
    names = {c.committee_id: c.name for c in inp.committees}

    def key(ld: LeaderInfo) -> tuple[int, int, str]:
        return (0 if committee_id in ld.committee_ids else 1, inp.leader_load.get(ld.leader_id, 0), ld.leader_id)

    out = []
    for ld in sorted(inp.leaders, key=key):
        in_charge, load = committee_id in ld.committee_ids, inp.leader_load.get(ld.leader_id, 0)
        reason = f"分管{names.get(committee_id or '', committee_id)}" if in_charge else "不分管建议的专工委"
        out.append({"leader_id": ld.leader_id, "name": ld.name, "title": ld.title, "in_charge": in_charge,
                    "load": load, "reason": f"{reason}；本年度已联系其他项目{load}个"})
    return out


def suggest(inp: SuggestionInput, limit: int, only_group: str | None = None) -> dict[str, Any]:
    """The ranked suggestion (each list numbered from 1, at most `limit` long)."""
    target = Target.of(inp.project)
    committees = rank_committees(inp)
    leaders = rank_leaders(inp, committees[0]["committee_id"] if committees else None)

    def top(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"rank": i, **item} for i, item in enumerate(items[:limit], start=1)]

    return {"groups": top(rank_groups(inp, target)), "delegates": top(rank_delegates(inp, target, only_group)),
            "committees": top(committees), "leaders": top(leaders),
            "project_has_places": bool(target.townships or target.points)}
