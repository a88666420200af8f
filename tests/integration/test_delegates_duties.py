"""Delegates service through NATS: duties follow a change of group, cancelled projects, end of term racing joins."""

from __future__ import annotations

import asyncio
from datetime import date

from shared.contracts.delegates import (
    AddGroupMember,
    AssignContactDuty,
    AssignSupervision,
    EndDelegateTerm,
    group_stream_id,
    supervision_stream_id,
)
from shared.contracts.projects import Location, ProjectCancelled
from tests.conftest import eventually
from tests.integration.test_delegates_service import (  # noqa: F401 (fixtures)
    GASA,
    MENGLONG,
    feed,
    office,
    registry,
    service,
)


async def _types(rt, stream_id: str) -> list[tuple[str, dict]]:
    rows = await rt.pool.fetch("SELECT type, data FROM events WHERE stream_id = $1 ORDER BY version", stream_id)
    return [(r["type"], r["data"]) for r in rows]


async def test_changing_the_group_ends_the_old_groups_duties(office, feed, service):
    await feed.open_year()
    project = await feed.vote("02", GASA)
    await registry(office)
    for d, where in (("d1", GASA), ("d2", GASA), ("d3", MENGLONG), ("d4", MENGLONG)):
        await office.delegate(d, d, where)
    await office.group("gasa-2026", GASA, "d1", "d2")
    await office.group("menglong-2026", MENGLONG, "d3")
    await office.suggest(project)
    assign = AssignSupervision(project_id=project, leader_id="fzr-1", committee_id="nww", group_id="gasa-2026")
    await office.ok(assign)
    await office.ok(AssignContactDuty(project_id=project, delegate_ids=["d1", "d2"]))
    await office.ok(AssignContactDuty(project_id=project, delegate_ids=["d3", "d4"], override_reason="家住项目旁"))

    changed = await office.ok(assign.model_copy(update={"group_id": "menglong-2026", "reason": "嘎洒镇小组任务重"}))
    assert len(changed["event_ids"]) == 4, "the new assignment and three duties ended"
    recorded = (await _types(service, supervision_stream_id(project)))[-4:]
    assert [t for t, _ in recorded] == ["SupervisionAssigned"] + ["ContactDutyReleased"] * 3
    assert [data["delegate_id"] for _, data in recorded[1:]] == ["d1", "d2", "d4"], "d3 is in the new group"
    assert recorded[1][1]["reason"] == "联系监督代表小组由 gasa-2026 变更为 menglong-2026"
    # The old group's members now need an override reason, like any outsider.
    again = await office.send(AssignContactDuty(project_id=project, delegate_ids=["d1"]))
    assert again["error"]["code"] == "validation"


async def test_a_cancelled_project_gets_no_supervision(office, feed):
    await feed.open_year()
    project = await feed.vote("03", GASA)
    await registry(office)
    await office.group("gasa-2026", GASA)
    await office.suggest(project)
    await feed.publish(project, ProjectCancelled(project_id=project, year=2026, code="03",
                                                 cancelled_on=date(2026, 3, 2), reason="并入其他项目"))
    assign = AssignSupervision(project_id=project, leader_id="fzr-1", committee_id="nww", group_id="gasa-2026")

    async def refused() -> dict | None:
        reply = await office.send(assign)
        return reply if not reply["ok"] else None
    reply = await eventually(refused)
    assert reply["error"]["code"] == "conflict"
    assert reply["error"]["message"] == "项目已撤销 / the project was cancelled"
    assert reply["error"]["details"] == {"project_id": project, "cancelled_on": "2026-03-02"}


async def test_an_ended_term_leaves_the_groups_of_open_years(office, service):
    await office.delegate("d1", "岩温", Location(township="嘎洒镇"))
    await office.group("gasa-2026", GASA, "d1")
    ended = await office.ok(EndDelegateTerm(delegate_id="d1", ended_on=date(2026, 3, 1), reason="调离本市"))
    assert len(ended["event_ids"]) == 2
    left = (await _types(service, group_stream_id("gasa-2026")))[-1]
    assert left == ("GroupMemberLeft", {"group_id": "gasa-2026", "year": 2026, "delegate_id": "d1",
                                        "reason": "代表任期结束：调离本市"})
    assert await service.pool.fetchval("SELECT count(*) FROM memberships") == 0


async def test_an_end_of_term_racing_a_join_never_leaves_an_ended_delegate_in_a_group(office, service):
    delegates = [f"d{i}" for i in range(12)]
    for d in delegates:
        await office.delegate(d, d, Location(township="嘎洒镇"))
    await office.group("gasa-2026", GASA)
    replies = await asyncio.gather(*(
        office.send(cmd) for d in delegates
        for cmd in (AddGroupMember(group_id="gasa-2026", delegate_id=d),
                    EndDelegateTerm(delegate_id=d, ended_on=date(2026, 3, 1), reason="调离本市"))))
    ends = replies[1::2]
    assert all(r["ok"] for r in ends), ends
    joins = replies[0::2]
    assert {r["error"]["code"] for r in joins if not r["ok"]} <= {"conflict"}
    # Whichever came first, no ended delegate stays a member: not in the facts, not in the group's stream.
    assert await service.pool.fetchval("SELECT count(*) FROM memberships") == 0
    members: set[str] = set()
    for kind, data in await _types(service, group_stream_id("gasa-2026")):
        if kind == "GroupMemberJoined":
            members.add(data["delegate_id"])
        elif kind == "GroupMemberLeft":
            members.discard(data["delegate_id"])
    assert members == set()
