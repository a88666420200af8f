"""The proximity rule on a small fixed map: same township first, then distance, then id."""

from __future__ import annotations

import pytest

from services.delegates.domain.facts import DelegateFact, GroupFact, ProjectFact
from services.delegates.domain.proximity import Place, Target, haversine_km, rank
from services.delegates.domain.suggestion import CommitteeInfo, LeaderInfo, SuggestionInput, suggest
from shared.contracts.projects import Location

# A project in A镇 with one located site; the other townships lie north of it.
PROJECT = ProjectFact("project-2026-01", 2026, "A镇饮水工程", "农业农村", ("A镇",),
                      (Location(township="A镇", label="A点", lat=22.00, lon=100.80),))
TARGET = Target.of(PROJECT)

MAP = {
    "z-same-far": [Place("home", "A镇", 22.05, 100.80)],
    "y-same-near": [Place("home", "B镇", 22.30, 100.80), Place("work", "A镇", 22.01, 100.80)],
    "x-same-nocoord": [Place("home", "A镇")],
    "b-other-near": [Place("home", "B镇", 22.02, 100.81)],
    "e-tie": [Place("home", "B镇", 22.10, 100.80)],
    "d-tie": [Place("work", "B镇", 22.10, 100.80)],
    "a-other-far": [Place("home", "C镇", 22.30, 100.80)],
    "c-other-nocoord": [Place("home", "D镇")],
}


def test_fixed_map_ranks_in_the_expected_order():
    ranked = rank(MAP.items(), TARGET)
    assert [n.key for n in ranked] == ["y-same-near", "z-same-far", "x-same-nocoord", "b-other-near",
                                        "d-tie", "e-tie", "a-other-far", "c-other-nocoord"]
    distances = {n.key: n.distance_km for n in ranked}
    assert distances == {"y-same-near": 1.11, "z-same-far": 5.56, "x-same-nocoord": None, "b-other-near": 2.45,
                         "d-tie": 11.12, "e-tie": 11.12, "a-other-far": 33.36, "c-other-nocoord": None}


def test_ranking_does_not_depend_on_input_order():
    assert [n.key for n in rank(reversed(list(MAP.items())), TARGET)] == [n.key for n in rank(MAP.items(), TARGET)]


def test_reasons_say_why():
    by_key = {n.key: n for n in rank(MAP.items(), TARGET)}
    assert by_key["y-same-near"].reason == "工作地在A镇，与项目同一乡镇；工作地距项目“A点”约1.11公里"
    assert by_key["b-other-near"].reason == "与项目不在同一乡镇；居住地距项目“A点”约2.45公里"
    assert by_key["c-other-nocoord"].reason == "与项目不在同一乡镇；无坐标可比"
    assert by_key["x-same-nocoord"].reason == "居住地在A镇，与项目同一乡镇"


def test_haversine():
    assert haversine_km(Place("a", "x", 0, 0), Place("b", "y", 0, 1)) == pytest.approx(111.195, abs=0.001)
    seat, gasa = Place("a", "允景洪街道", 22.0145, 100.7984), Place("b", "嘎洒镇", 21.956, 100.76)
    assert haversine_km(seat, gasa) == pytest.approx(haversine_km(gasa, seat)) == pytest.approx(7.615, abs=0.001)


def test_suggestion_ranks_groups_delegates_committees_and_leaders():
    home = {"d1": Location(township="A镇", lat=22.01, lon=100.80), "d2": Location(township="B镇", lat=22.02, lon=100.81),
            "d3": Location(township="C镇")}
    inp = SuggestionInput(
        project=PROJECT,
        groups=[GroupFact("b-2026", 2026, "B镇小组", township="B镇",
                          location=Location(township="B镇", lat=22.02, lon=100.8)),
                GroupFact("a-2026", 2026, "A镇小组", township="A镇")],
        members={"a-2026": ["d1"], "b-2026": ["d2", "d3"]},
        delegates=[DelegateFact(d, d, home=loc) for d, loc in home.items()],
        memberships={"d1": "a-2026", "d2": "b-2026", "d3": "b-2026"},
        committees=[CommitteeInfo("cj", "城建环保工委", ("城乡建设",)), CommitteeInfo("nw2", "农业农村工委", ("农业农村",)),
                    CommitteeInfo("nw1", "农业农村工委一", ("农业农村",))],
        leaders=[LeaderInfo("l1", "甲", "副主任", ("cj",)), LeaderInfo("l2", "乙", "副主任", ("nw2",)),
                 LeaderInfo("l3", "丙", "副主任", ("nw2",))],
        committee_load={"nw1": 2}, leader_load={"l2": 1},
    )
    s = suggest(inp, limit=10)
    assert [g["group_id"] for g in s["groups"]] == ["a-2026", "b-2026"]
    assert s["groups"][0]["members_near"] == 1 and s["groups"][1]["distance_km"] == 2.22
    assert [d["delegate_id"] for d in s["delegates"]] == ["d1", "d2", "d3"]
    assert [c["committee_id"] for c in s["committees"]] == ["nw2", "nw1", "cj"], "covers the category, then load"
    assert [ld["leader_id"] for ld in s["leaders"]] == ["l3", "l2", "l1"], "in charge of nw2, then load"
    only_b = suggest(inp, limit=1, only_group="b-2026")
    assert [d["delegate_id"] for d in only_b["delegates"]] == ["d2"] and only_b["delegates"][0]["rank"] == 1
