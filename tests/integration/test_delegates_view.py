"""The `delegates` view: list/groups/supervision shapes and filters, personal data kept apart, and the
whole path command -> event -> projection -> query over NATS."""

from __future__ import annotations

from datetime import date

from services.projection.main import build as build_projection
from services.projection.views.delegates import list_delegates, list_groups, list_supervision
from shared.contracts.delegates import (
    AssignContactDuty,
    AssignSupervision,
    ContactDutyAssigned,
    DelegateDetailsChanged,
    DelegateRegistered,
    DelegateTermEnded,
    GroupFormed,
    GroupLeaderAppointed,
    GroupMemberJoined,
    GroupMemberLeft,
    ListDelegates,
    ListGroups,
    ListSupervision,
    SupervisionAssigned,
)
from shared.contracts.projects import Location
from shared.rpc import RpcClient
from shared.subjects import query_subject
from tests.conftest import eventually
from tests.integration.test_delegates_service import GASA, Office, ProjectsFeed, registry, service  # noqa: F401
from tests.integration.views import Stream, apply, views  # noqa: F401

HOME = Location(township="嘎洒镇", lat=21.96, lon=100.76)


def registered(delegate_id: str, level: str = "city", constituency: str = "嘎洒镇") -> DelegateRegistered:
    return DelegateRegistered(delegate_id=delegate_id, name=f"代表{delegate_id}", gender="女", ethnicity="傣族",
                              level=level, constituency=constituency, home=HOME, phone="13908810001",
                              work=Location(township="允景洪街道"), term_start=date(2022, 1, 10))


async def test_views_from_events(views):  # noqa: F811
    d1, d2, d3 = Stream("delegate-d1"), Stream("delegate-d2"), Stream("delegate-d3")
    g25, g26, sup = Stream("group-gasa-2025"), Stream("group-gasa-2026"), Stream("supervision-project-2026-02")
    details = registered("d2").model_dump(exclude={"term_start"}) | {"level": "province", "phone": None,
                                                                     "reason": "晋升"}
    envelopes = [
        d1.envelope(registered("d1")), d2.envelope(registered("d2")), d3.envelope(registered("d3", "township", "勐龙镇")),
        d2.envelope(DelegateDetailsChanged(**details)),
        d3.envelope(DelegateTermEnded(delegate_id="d3", ended_on=date(2026, 3, 1), reason="调离本市")),
        g25.envelope(GroupFormed(group_id="gasa-2025", year=2025, name="嘎洒镇代表小组", kind="township", township="嘎洒镇")),
        g25.envelope(GroupMemberJoined(group_id="gasa-2025", year=2025, delegate_id="d1")),
        g26.envelope(GroupFormed(group_id="gasa-2026", year=2026, name="嘎洒镇代表小组", kind="township", township="嘎洒镇",
                                 location=GASA)),
        g26.envelope(GroupMemberJoined(group_id="gasa-2026", year=2026, delegate_id="d1")),
        g26.envelope(GroupMemberJoined(group_id="gasa-2026", year=2026, delegate_id="d2")),
        g26.envelope(GroupLeaderAppointed(group_id="gasa-2026", year=2026, delegate_id="d2")),
        g26.envelope(GroupMemberLeft(group_id="gasa-2026", year=2026, delegate_id="d2", reason="调整")),
        sup.envelope(SupervisionAssigned(project_id="project-2026-02", year=2026, leader_id="fzr-1",
                                         committee_id="nww", group_id="gasa-2026")),
        sup.envelope(ContactDutyAssigned(project_id="project-2026-02", year=2026, delegate_ids=["d3", "d1"])),
        Stream("supervision-project-2026-03").envelope(SupervisionAssigned(
            project_id="project-2026-03", year=2026, leader_id="fzr-1", committee_id="nww", group_id="gasa-2026")),
    ]
    await apply(views, envelopes)
    async with views.pool.acquire() as conn:
        everyone = await list_delegates(conn, ListDelegates())
        assert everyone["total"] == 3
        first = everyone["items"][0]
        assert first["delegate_id"] == "d1" and first["group_id"] == "gasa-2026", "the latest year's group"
        assert first["personal"] == {"phone": "13908810001", "home": HOME.model_dump(mode="json")}
        assert "phone" not in first and "home" not in first, "personal data only under `personal`"
        assert (await list_delegates(conn, ListDelegates(year=2025)))["items"][0]["group_id"] == "gasa-2025"
        d2 = (await list_delegates(conn, ListDelegates(level="province")))["items"]
        assert [d["delegate_id"] for d in d2] == ["d2"] and d2[0]["personal"]["phone"] is None
        assert (await list_delegates(conn, ListDelegates(active=False)))["items"][0]["delegate_id"] == "d3"
        assert (await list_delegates(conn, ListDelegates(township="勐龙镇")))["total"] == 1
        assert (await list_delegates(conn, ListDelegates(township="允景洪街道")))["total"] == 3, "work township too"
        in_group = await list_delegates(conn, ListDelegates(group_id="gasa-2026", limit=1))
        assert in_group["total"] == 1 and in_group["items"][0]["delegate_id"] == "d1"

        groups = (await list_groups(conn, ListGroups(year=2026)))["items"]
        assert groups == [{"group_id": "gasa-2026", "name": "嘎洒镇代表小组", "year": 2026, "kind": "township",
                           "township": "嘎洒镇", "location": GASA.model_dump(mode="json"), "leader_id": None,
                           "member_count": 1}], "counts only unless member ids are asked for"
        listed = await list_groups(conn, ListGroups(year=2026, members=5))
        assert listed["items"][0]["members"] == ["d1"] and listed["next_offset"] is None
        assert len((await list_groups(conn, ListGroups()))["items"]) == 2

        sup_items = (await list_supervision(conn, ListSupervision(year=2026)))["items"]
        assert sup_items[0]["contact_delegates"] == ["d1", "d3"] and sup_items[0]["group_name"] == "嘎洒镇代表小组"
        assert (sup_items[0]["leader_id"], sup_items[0]["committee_id"], sup_items[0]["group_id"]) == \
            ("fzr-1", "nww", "gasa-2026")
        assert (await list_supervision(conn, ListSupervision(project_id="project-2026-09")))["items"] == []
        assert [s["project_id"] for s in sup_items] == ["project-2026-02", "project-2026-03"]
        assert sup_items[1]["contact_delegates"] == []
        paged = await list_supervision(conn, ListSupervision(year=2026, limit=1))
        assert paged["items"] == sup_items[:1] and paged["total"] == 2 and paged["next_offset"] == 1
        last = await list_supervision(conn, ListSupervision(year=2026, limit=1, offset=1))
        assert last["items"] == sup_items[1:] and last["next_offset"] is None


async def test_commands_reach_the_queries(service, nc, settings):  # noqa: F811
    projection, _ = build_projection(settings)
    await projection.start()
    try:
        client, office, feed = RpcClient(nc), Office(RpcClient(nc)), ProjectsFeed(nc)
        await feed.open_year()
        project = await feed.vote("02", GASA)
        await registry(office)
        await office.delegate("d1", "岩温", HOME, phone="13908810001")
        await office.group("gasa-2026", GASA, "d1")
        s = await office.suggest(project)
        await office.ok(AssignSupervision(project_id=project, leader_id=s["leaders"][0]["leader_id"],
                                          committee_id=s["committees"][0]["committee_id"],
                                          group_id=s["groups"][0]["group_id"]))
        await office.ok(AssignContactDuty(project_id=project, delegate_ids=[s["delegates"][0]["delegate_id"]]))

        async def query(name: str, **payload):
            reply = await client.request(query_subject("delegates", name), payload)
            return reply if reply.get("ok") else None

        supervision = await eventually(
            lambda: _with_duties(query("supervision", year=2026)), timeout=15)
        assert supervision["items"][0]["contact_delegates"] == ["d1"]
        listed = await query("list", group_id="gasa-2026")
        assert listed["items"][0]["personal"]["phone"] == "13908810001"
        counted = (await query("groups", year=2026))["items"][0]
        assert counted["member_count"] == 1 and "members" not in counted  # ids only when asked for
        assert (await query("groups", year=2026, members=10))["items"][0]["members"] == ["d1"]
        assert (await query("groups", group_id="gasa-2026", members=1))["items"][0]["members"] == ["d1"]
        one = await query("get", delegate_id="d1")
        assert one["groups"][0]["group_id"] == "gasa-2026" and one["contact_duties"][0]["project_id"] == project
        assert (await query("leaders"))["items"][0]["committee_ids"] == ["nww"]
        assert [c["committee_id"] for c in (await query("committees"))["items"]] == ["jkww", "nww"]
        missing = await client.request(query_subject("delegates", "get"), {"delegate_id": "nobody"})
        assert missing["error"]["code"] == "not_found"
    finally:
        await projection.stop()


async def _with_duties(reply_coro):
    reply = await reply_coro
    return reply if reply and reply["items"] and reply["items"][0]["contact_delegates"] else None
