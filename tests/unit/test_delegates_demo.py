"""The demo roster: ~300 plausible delegates of every level and several ethnicities, ~12 groups, stable ids."""

from __future__ import annotations

from collections import Counter

from shared.demo import delegates as demo

TOWNSHIPS = {"允景洪街道", "嘎洒镇", "勐龙镇", "勐罕镇", "勐养镇", "普文镇", "景哈哈尼族乡", "基诺山基诺族乡", "景讷乡",
             "大渡岗乡", "勐旺乡"}


def test_roster_size_levels_and_ethnicities():
    people = [cmd for cmd, _ in demo.roster()]
    assert 280 <= len(people) <= 320
    assert set(Counter(p.level for p in people)) == {"township", "city", "prefecture", "province", "national"}
    ethnicities = Counter(p.ethnicity for p in people)
    assert {"傣族", "汉族", "哈尼族", "基诺族", "彝族", "拉祜族", "布朗族", "瑶族"} <= set(ethnicities)
    assert ethnicities.most_common(3)[0][0] in ("傣族", "汉族")
    assert len({p.delegate_id for p in people}) == len({p.full_name for p in people}) == len(people)
    assert {p.constituency for p in people} == TOWNSHIPS
    assert all(p.home and p.home.lat and p.work and p.phone for p in people)


def test_roster_is_the_same_on_every_run():
    assert demo.roster() == demo.roster()
    assert demo.roster()[0][0].delegate_id == "d001"


def test_groups_cover_townships_subdistrict_and_farms():
    groups = demo.groups()
    assert 10 <= len(groups) <= 14
    assert {g.kind for g in groups} == {"township", "subdistrict", "farm"}
    assert {g.township for g in groups} == TOWNSHIPS
    members = Counter(code for cmd, code in demo.roster() if cmd.delegate_id not in demo.ENDED)
    assert all(members[g.group_id.removesuffix(f"-{demo.YEAR}")] >= 8 for g in groups)


def test_registry_leaders_are_in_charge_of_known_committees():
    committees = {c for c, _, _ in demo.COMMITTEES}
    assert all(set(ids) <= committees for _, _, _, ids in demo.LEADERS)
