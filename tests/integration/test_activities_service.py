"""The activities service over NATS: its copy of other services' data, activities, attendance, contact points."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from services.activities.checkin import check_in_code
from shared.contracts.activities import SERVICE, activity_stream_id
from shared.contracts.delegates import DelegateTermEnded
from shared.contracts.projects import ProjectCancelled
from shared.rpc import RpcClient
from shared.subjects import EVENTS_STREAM, command_subject
from shared.timeutil import CITY_TZ
from tests.conftest import eventually
from tests.integration.activities_support import (
    NOW,
    PAST_YEAR,
    THIS_YEAR,
    group_id,
    project_id,
    start_with_world,
)

OFFICE = "office:王芳"


@pytest.fixture
async def service(settings, nc):
    rt, world = await start_with_world(settings, nc)
    yield rt, world
    await rt.stop()


def cmd(name: str) -> str:
    return command_subject(SERVICE, name)


def inspection(activity_id: str, year: int = PAST_YEAR, **changes) -> dict:
    return {"activity_id": activity_id, "year": year, "kind": "inspection", "title": "视察老旧小区改造",
            "project_ids": [project_id(year, "01")], "group_ids": [group_id(year)], "organiser": "岩温",
            "starts_at": f"{year}-05-20T09:00:00+08:00", "ends_at": f"{year}-05-20T12:00:00+08:00",
            "place": "曼听社区", **changes}


async def test_inspection_from_schedule_to_outcome(service, nc):
    rt, _ = service
    client = RpcClient(nc)
    scheduled = await client.call(cmd("schedule_activity"), inspection("insp-1"), actor=OFFICE)
    assert scheduled["phase"] == "supervision" and scheduled["version"] == 1

    invited = await client.call(cmd("invite_delegates"), {"activity_id": "insp-1", "group_ids": [group_id(PAST_YEAR)]})
    assert invited["invited"] == ["d1", "d2", "d3"] and invited["skipped_inactive"] == ["d9"]
    refused = await client.request(cmd("invite_delegates"), {"activity_id": "insp-1", "delegate_ids": ["d9"]})
    assert refused["error"]["code"] == "validation" and refused["error"]["details"][0]["field"] == "delegate_ids.0"

    await client.call(cmd("record_attendance"), {"activity_id": "insp-1", "entries": [
        {"delegate_id": "d1", "status": "present"}, {"delegate_id": "d2", "status": "absent"},
        {"delegate_id": "d3", "status": "excused", "excuse_reason": "外出培训"},
        {"delegate_id": "d4", "status": "present", "walk_in": True}]}, actor=OFFICE)
    again = await client.request(cmd("record_attendance"), {"activity_id": "insp-1", "entries": [
        {"delegate_id": "d2", "status": "present"}]})
    assert again["error"]["code"] == "conflict"
    await client.call(cmd("correct_attendance"), {"activity_id": "insp-1", "delegate_id": "d2", "status": "excused",
                                                  "excuse_reason": "家中有事", "reason": "会后补交请假条"})
    outcome = await client.call(cmd("record_outcome"), {
        "activity_id": "insp-1", "minutes": "听取住建局汇报，实地查看三个小区。", "findings": ["2号小区管网未开工"],
        "opinions": [{"category": "进度", "content": "加快管网施工", "raised_by": ["d1"]},
                     {"category": "群众诉求", "content": "增设临时通道", "raised_by": ["d1", "d4"]}]})
    assert outcome["opinion_ids"] == ["op-1", "op-2"]

    stored = await rt.store.load(activity_stream_id("insp-1"))
    assert [e.type for e in stored] == ["ActivityScheduled", "DelegatesInvited"] + ["AttendanceRecorded"] * 4 + [
        "AttendanceCorrected", "OutcomeRecorded", "OpinionRaised", "OpinionRaised"]
    assert stored[0].actor == OFFICE
    attendance = stored[2]
    # Business time: attendance happened at the activity, recorded much later (DESIGN.md invariant 7).
    assert attendance.occurred_at == datetime.fromisoformat(stored[0].body["starts_at"])
    assert attendance.recorded_at - attendance.occurred_at > timedelta(days=30)
    assert stored[-1].occurred_at == attendance.occurred_at


async def test_schedule_validation_and_unknown_activity(service, nc):
    client = RpcClient(nc)
    bad = await client.request(cmd("schedule_activity"), inspection("x-1", project_ids=["project-1999-01"],
                                                                    group_ids=["nope"]))
    assert bad["error"]["code"] == "validation"
    assert {d["field"] for d in bad["error"]["details"]} == {"project_ids.0", "group_ids.0"}
    not_opened = await client.request(cmd("schedule_activity"), inspection("x-2", year=PAST_YEAR - 1,
                                                                           project_ids=[project_id(PAST_YEAR, "01")]))
    assert not_opened["error"]["code"] == "validation"
    missing = await client.request(cmd("cancel_activity"), {"activity_id": "nope", "reason": "下雨"})
    assert missing["error"]["code"] == "not_found"
    generated = await client.call(cmd("schedule_activity"), {k: v for k, v in inspection("_").items() if k != "activity_id"})
    assert generated["activity_id"].startswith("a-")


async def test_reschedule_and_cancel(service, nc):
    client = RpcClient(nc)
    await client.call(cmd("schedule_activity"), inspection("mob-1", kind="mobilisation", form="动员会"))
    moved = await client.call(cmd("reschedule_activity"), {
        "activity_id": "mob-1", "starts_at": f"{PAST_YEAR}-03-02T15:00:00+08:00",
        "ends_at": f"{PAST_YEAR}-03-02T17:00:00+08:00", "reason": "与区人代会冲突"})
    assert moved["phase"] == "mobilisation"
    await client.call(cmd("cancel_activity"), {"activity_id": "mob-1", "reason": "疫情防控"})
    late = await client.request(cmd("invite_delegates"), {"activity_id": "mob-1", "delegate_ids": ["d1"]})
    assert late["error"]["code"] == "conflict"


async def test_delegate_checks_in_with_the_code_while_the_activity_runs(service, nc, settings):
    rt, _ = service
    client = RpcClient(nc)
    starts, ends = NOW - timedelta(minutes=1), NOW + timedelta(minutes=10)
    await client.call(cmd("schedule_activity"), inspection(
        "now-1", year=THIS_YEAR, starts_at=starts.isoformat(), ends_at=ends.isoformat()))
    await client.call(cmd("invite_delegates"), {"activity_id": "now-1", "delegate_ids": ["d1"]})
    issued = await client.call(cmd("issue_check_in_code"), {"activity_id": "now-1"}, actor=OFFICE)
    peeking = await client.request(cmd("issue_check_in_code"), {"activity_id": "now-1"}, actor="delegate:d1")
    assert peeking["error"]["code"] == "forbidden"
    assert issued["code"] == check_in_code(settings.activities_checkin_secret.encode(), "now-1", starts)

    wrong = f"{(int(issued['code']) + 1) % 1_000_000:06d}"
    refused = await client.request(cmd("check_in"), {"activity_id": "now-1", "delegate_id": "d1", "code": wrong},
                                   actor="delegate:d1")
    assert refused["error"]["code"] == "validation"
    impostor = await client.request(cmd("check_in"), {"activity_id": "now-1", "delegate_id": "d1",
                                                      "code": issued["code"]}, actor="delegate:d2")
    assert impostor["error"]["code"] == "forbidden"
    done = await client.call(cmd("check_in"), {"activity_id": "now-1", "delegate_id": "d1", "code": issued["code"]},
                             actor="delegate:d1")
    walk_in = await client.call(cmd("check_in"), {"activity_id": "now-1", "delegate_id": "d4", "code": issued["code"]},
                                actor="delegate:d4")
    assert done["walk_in"] is False and walk_in["walk_in"] is True
    stored = await rt.store.load(activity_stream_id("now-1"))
    assert stored[-1].body["source"] == "check_in" and stored[-1].actor == "delegate:d4"


async def test_two_opinions_are_published_as_two_opinion_raised_events(service, nc):
    client = RpcClient(nc)
    await client.call(cmd("schedule_activity"), inspection("insp-2"))
    await client.call(cmd("invite_delegates"), {"activity_id": "insp-2", "group_ids": [group_id(PAST_YEAR)]})
    await client.call(cmd("record_outcome"), {"activity_id": "insp-2", "minutes": "实地查看。", "opinions": [
        {"category": "进度", "content": "加快管网施工", "raised_by": ["d1"]},
        {"category": "安全", "content": "完善施工围挡", "raised_by": ["d2", "d3"]}]})

    js = nc.jetstream()
    sub = await js.pull_subscribe(f"huimin.evt.activities.{activity_stream_id('insp-2')}.OpinionRaised",
                                  stream=EVENTS_STREAM)
    received: list[dict] = []

    async def two_published() -> bool:
        try:
            msgs = await sub.fetch(10, timeout=0.5)
        except TimeoutError:
            msgs = []
        for m in msgs:
            received.append(json.loads(m.data))
            await m.ack()
        return len(received) >= 2

    await eventually(two_published)
    bodies = [r["body"] for r in received]
    assert [(b["activity_id"], b["opinion_id"]) for b in bodies] == [("insp-2", "op-1"), ("insp-2", "op-2")]
    assert bodies[1]["raised_by"] == ["d2", "d3"] and bodies[1]["project_id"] == project_id(PAST_YEAR, "01")
    assert bodies[0]["group_id"] == group_id(PAST_YEAR) and bodies[0]["raised_on"] == f"{PAST_YEAR}-05-20"
    await sub.unsubscribe()


async def test_contact_point_and_contact_logs(service, nc):
    rt, _ = service
    client = RpcClient(nc)
    project = project_id(PAST_YEAR, "02")
    await client.call(cmd("establish_contact_point"), {
        "contact_point_id": "cp-1", "project_id": project, "place": "曼景兰村委会", "delegate_ids": ["d1", "d2"],
        "established_on": f"{PAST_YEAR}-04-10"})
    logged = await client.call(cmd("log_contact"), {
        "contact_point_id": "cp-1", "delegate_id": "d2", "contacted_on": f"{PAST_YEAR}-06-03",
        "progress": "水厂主体完工", "demands": "希望尽快通水", "help_given": ["policy_explanation"]}, actor="delegate:d2")
    assert logged["log_id"].startswith("log-")
    retried = await client.request(cmd("log_contact"), {
        "log_id": logged["log_id"], "contact_point_id": "cp-1", "delegate_id": "d2", "contacted_on": f"{PAST_YEAR}-06-03",
        "progress": "水厂主体完工"}, actor="delegate:d2")
    assert retried["error"]["code"] == "conflict"
    future = (NOW + timedelta(days=2)).astimezone(CITY_TZ).date()
    refused = await client.request(cmd("log_contact"), {
        "contact_point_id": "cp-1", "delegate_id": "d1", "contacted_on": future.isoformat(), "progress": "开工"})
    assert refused["error"]["code"] == "validation"
    empty = await client.request(cmd("log_contact"), {"contact_point_id": "cp-1", "delegate_id": "d1",
                                                      "contacted_on": f"{PAST_YEAR}-06-03"})
    assert empty["error"]["code"] == "validation"
    stored = await rt.store.load("contactpoint-cp-1")
    assert stored[1].occurred_at.astimezone(CITY_TZ).date() == date(PAST_YEAR, 6, 3)


async def test_the_copy_follows_term_ends_and_project_cancellations(service, nc):
    rt, world = service
    client = RpcClient(nc)
    year = THIS_YEAR
    await world.emit("delegates", "delegate-d3", DelegateTermEnded(delegate_id="d3", ended_on=date(year, 1, 1),
                                                                   reason="辞去代表职务"))
    await world.emit("projects", project_id(year, "02"), ProjectCancelled(
        project_id=project_id(year, "02"), year=year, code="02", cancelled_on=date(year, 1, 21), reason="并入其他项目"))

    async def ended() -> bool:
        row = await rt.pool.fetchrow("SELECT (SELECT ended_on FROM ref_delegates WHERE delegate_id = 'd3') AS ended, "
                                     "(SELECT cancelled_on FROM ref_projects WHERE project_id = $1) AS cancelled",
                                     project_id(year, "02"))
        return row["ended"] is not None and row["cancelled"] is not None

    await eventually(ended)
    starts = f"{year}-01-25T09:00:00+08:00"
    await client.call(cmd("schedule_activity"), inspection("t-1", year=year, starts_at=starts,
                                                           ends_at=f"{year}-01-25T11:00:00+08:00"))
    refused = await client.request(cmd("invite_delegates"), {"activity_id": "t-1", "delegate_ids": ["d3"]})
    assert refused["error"]["code"] == "validation"
    cancelled = await client.request(cmd("schedule_activity"), inspection(
        "t-2", year=year, project_ids=[project_id(year, "02")], starts_at=starts, ends_at=f"{year}-01-25T11:00:00+08:00"))
    assert cancelled["error"]["code"] == "validation"

