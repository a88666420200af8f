"""The activities view: commands over NATS become visible through huimin.qry.activities.*."""

from __future__ import annotations

from datetime import date

import pytest

from services.projection.main import build as build_projection
from shared.contracts.activities import SERVICE
from shared.contracts.projects import PhaseWindow, YearCalendarAdjusted
from shared.rpc import RpcClient
from shared.subjects import command_subject, query_subject
from tests.conftest import eventually
from tests.integration.activities_support import PAST_YEAR, calendar, group_id, project_id, start_with_world

Y = PAST_YEAR


@pytest.fixture
async def system(settings, nc):
    activities, world = await start_with_world(settings, nc)
    projection, _ = build_projection(settings)
    await projection.start()
    yield RpcClient(nc), world
    await projection.stop()
    await activities.stop()


async def send(client: RpcClient, name: str, body: dict) -> dict:
    return await client.call(command_subject(SERVICE, name), body, actor="office:王芳")


async def ask(client: RpcClient, name: str, body: dict, ready) -> dict:
    async def answered() -> dict | None:
        reply = await client.request(query_subject("activities", name), body)
        return reply if reply.get("ok") and ready(reply) else None

    return await eventually(answered)


async def test_activity_attendance_opinions_and_contact_logs_are_listed(system):
    client, world = system
    await send(client, "schedule_activity", {
        "activity_id": "insp-v", "year": Y, "kind": "inspection", "title": "视察老旧小区改造",
        "project_ids": [project_id(Y, "01")], "group_ids": [group_id(Y)], "organiser": "岩温",
        "starts_at": f"{Y}-05-20T09:00:00+08:00", "ends_at": f"{Y}-05-20T12:00:00+08:00", "place": "曼听社区"})
    await send(client, "schedule_activity", {
        "activity_id": "mob-v", "year": Y, "kind": "mobilisation", "form": "动员会", "title": "惠民实事动员会",
        "project_ids": [project_id(Y, "01")], "group_ids": [group_id(Y)], "organiser": "岩温",
        "starts_at": f"{Y}-02-20T09:00:00+08:00", "ends_at": f"{Y}-02-20T11:00:00+08:00", "place": "街道会议室"})
    await send(client, "cancel_activity", {"activity_id": "mob-v", "reason": "改为线上召开"})
    await send(client, "invite_delegates", {"activity_id": "insp-v", "group_ids": [group_id(Y)]})
    await send(client, "record_attendance", {"activity_id": "insp-v", "entries": [
        {"delegate_id": "d1", "status": "present"}, {"delegate_id": "d2", "status": "absent"},
        {"delegate_id": "d4", "status": "present", "walk_in": True}]})
    await send(client, "correct_attendance", {"activity_id": "insp-v", "delegate_id": "d2", "status": "excused",
                                              "excuse_reason": "出差", "reason": "补交请假条"})
    await send(client, "record_outcome", {"activity_id": "insp-v", "minutes": "实地查看。", "findings": ["管网未开工"],
                                          "opinions": [{"category": "进度", "content": "加快施工", "raised_by": ["d1"]}]})
    await send(client, "establish_contact_point", {
        "contact_point_id": "cp-v", "project_id": project_id(Y, "01"), "place": "曼听社区居委会",
        "delegate_ids": ["d1"], "established_on": f"{Y}-04-02"})
    await send(client, "log_contact", {"contact_point_id": "cp-v", "delegate_id": "d1", "contacted_on": f"{Y}-06-01",
                                       "difficulties": "两户不同意施工", "help_given": ["mediation"]})

    listed = await ask(client, "list", {"year": Y, "kind": "inspection"},
                       lambda r: r["total"] == 1 and r["items"][0]["opinions"] == 1)
    item = listed["items"][0]
    assert (item["invited"], item["present"], item["absent"], item["excused"], item["walk_ins"]) == (3, 2, 0, 1, 1)
    assert item["phase"] == "supervision" and item["outcome_recorded"] is True
    cancelled = await ask(client, "list", {"status": "cancelled"}, lambda r: r["total"] == 1)
    assert cancelled["items"][0]["cancel_reason"] == "改为线上召开"
    mine = await ask(client, "list", {"delegate_id": "d4"}, lambda r: r["total"] == 1)
    assert mine["items"][0]["activity_id"] == "insp-v"

    detail = await ask(client, "get", {"activity_id": "insp-v"}, lambda r: True)
    by_delegate = {a["delegate_id"]: a for a in detail["attendance"]}
    assert by_delegate["d2"]["status"] == "excused" and by_delegate["d2"]["original_status"] == "absent"
    assert by_delegate["d2"]["correction_reason"] == "补交请假条"
    assert by_delegate["d3"]["status"] == "invited" and by_delegate["d4"]["invited"] is False
    assert detail["opinions"][0]["content"] == "加快施工" and detail["activity"]["findings"] == ["管网未开工"]
    assert detail["attendance_total"] == len(detail["attendance"]) == 4 and detail["attendance_next_offset"] is None
    page = await ask(client, "get", {"activity_id": "insp-v", "limit": 3}, lambda r: True)
    assert page["attendance"] == detail["attendance"][:3] and page["attendance_next_offset"] == 3
    rest = await ask(client, "get", {"activity_id": "insp-v", "limit": 3, "offset": 3}, lambda r: True)
    assert rest["attendance"] == detail["attendance"][3:] and rest["attendance_next_offset"] is None
    own = await ask(client, "get", {"activity_id": "insp-v", "delegate_id": "d2"}, lambda r: True)
    assert own["attendance"] == [by_delegate["d2"]] and own["attendance_total"] == 1
    missing = await client.request(query_subject("activities", "get"), {"activity_id": "nope"})
    assert missing["error"]["code"] == "not_found"

    points = await ask(client, "contact_points", {"project_id": project_id(Y, "01")}, lambda r: r["total"] == 1)
    assert points["items"][0]["logs"] == 1 and points["items"][0]["last_contact_on"] == f"{Y}-06-01"
    logs = await ask(client, "contact_logs", {"delegate_id": "d1"}, lambda r: r["total"] == 1)
    assert logs["items"][0]["help_given"] == ["mediation"]

    # Phases are derived from the calendar: a moved supervision window moves the activity's phase.
    moved = calendar(Y).model_copy(update={"supervision": PhaseWindow(start=date(Y, 6, 1), end=date(Y, 11, 30)),
                                           "mobilisation": PhaseWindow(start=date(Y, 2, 1), end=date(Y, 5, 31))})
    await world.emit("projects", f"year-{Y}", YearCalendarAdjusted(year=Y, calendar=moved, reason="人代会推迟"))
    await ask(client, "list", {"year": Y, "kind": "inspection"}, lambda r: r["items"][0]["phase"] == "mobilisation")
