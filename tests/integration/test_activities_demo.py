"""The activities demo loader: a year of activities and contact points, and loading again changes nothing."""

from __future__ import annotations

from datetime import date

from services.activities.main import build as build_activities
from services.projection.main import build as build_projection
from shared.contracts.delegates import (
    ContactDutyAssigned,
    DelegateRegistered,
    GroupFormed,
    GroupLeaderAppointed,
    GroupMemberJoined,
    SupervisionAssigned,
)
from shared.contracts.projects import ProjectVoted, YearOpened
from shared.demo import activities as demo
from shared.demo.projects import PROJECTS, YEAR
from shared.rpc import RpcClient
from shared.subjects import query_subject
from tests.conftest import eventually
from tests.integration.activities_support import ForeignEvents, calendar

GROUPS = {"yjh": "允景洪街道", "gs": "嘎洒镇", "mh": "勐罕镇"}


async def publish_demo_world(world: ForeignEvents) -> None:
    """What the projects and delegates demo loaders would have published for the demo year."""
    await world.emit("projects", f"year-{YEAR}", YearOpened(year=YEAR, calendar=calendar(YEAR)))
    for code, title, category, lead, yes, no, abstain in PROJECTS:
        pid = f"project-{YEAR}-{code}"
        await world.emit("projects", pid, ProjectVoted(
            project_id=pid, year=YEAR, code=code, title=title, category=category, lead_unit=lead, votes_for=yes,
            votes_against=no, votes_abstain=abstain, voted_on=date(YEAR, 1, 20)))
    for g, (slug, township) in enumerate(GROUPS.items()):
        gid = f"{slug}-{YEAR}"
        members = [f"d{g}{n}" for n in range(5)]
        for d in members:
            await world.emit("delegates", f"delegate-{d}", DelegateRegistered(
                delegate_id=d, name=f"代表{d}", gender="女", ethnicity="哈尼族", level="city", constituency=township,
                term_start=date(2022, 1, 1)))
        await world.emit("delegates", f"group-{gid}", GroupFormed(
            group_id=gid, year=YEAR, name=f"{township}代表小组", kind="township", township=township),
            *[GroupMemberJoined(group_id=gid, year=YEAR, delegate_id=d) for d in members],
            GroupLeaderAppointed(group_id=gid, year=YEAR, delegate_id=members[0]))
    for i, (code, *_) in enumerate(PROJECTS):
        pid, g = f"project-{YEAR}-{code}", i % len(GROUPS)
        await world.emit("delegates", f"supervision-{pid}", SupervisionAssigned(
            project_id=pid, year=YEAR, leader_id="l1", committee_id="c1", group_id=f"{list(GROUPS)[g]}-{YEAR}"),
            ContactDutyAssigned(project_id=pid, year=YEAR, delegate_ids=[f"d{g}1", f"d{g}2"]))


async def test_demo_loads_a_year_and_reloading_is_a_no_op(settings, nc, monkeypatch):
    monkeypatch.setattr(demo, "POLL_S", 0.2)
    activities = build_activities(settings)
    projection, _ = build_projection(settings)
    await activities.start()
    await projection.start()
    try:
        await publish_demo_world(ForeignEvents(nc.jetstream()))
        client = RpcClient(nc)
        first = await demo.load(client)
        assert first.get("refused", 0) == 0 and "skipped" not in first, first
        # a mobilisation meeting per group (3), 3 visits, 8 inspections, 1 research, 3 contributions, 1 summary meeting
        assert first["activities"] == 19 and first["contact_points"] == 8 and first["contact_logs"] == 24
        assert first["opinions"] == 8 * 2 + 2

        async def listed(name: str, body: dict, total: int):
            reply = await client.request(query_subject("activities", name), body)
            return reply if reply.get("ok") and reply["total"] == total else None

        async def inspections_recorded():
            reply = await listed("list", {"year": YEAR, "kind": "inspection"}, 8)
            return reply and all(i["absent"] >= 1 and i["excused"] >= 1 and i["opinions"] == 2 for i in reply["items"])

        await eventually(inspections_recorded)
        detail = await client.call(query_subject("activities", "get"), {"activity_id": f"{YEAR}-insp-{demo.OBSTRUCTED}"})
        walk_ins = [a["delegate_id"] for a in detail["attendance"] if not a["invited"]]
        assert walk_ins == ["d10"], "the leader of another group came uninvited"
        research = await eventually(lambda: listed("list", {"kind": "research"}, 1))
        assert research["items"][0]["project_ids"] == [f"project-{YEAR}-{demo.SLOW}"]
        await eventually(lambda: listed("contact_logs", {"year": YEAR}, 24))

        again = await demo.load(client)
        assert set(again) == {"existing"}, again
    finally:
        await projection.stop()
        await activities.stop()
