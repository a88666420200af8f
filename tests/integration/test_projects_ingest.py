"""Department progress over HUIMIN_INGEST against real NATS and PostgreSQL: recorded, rejected, dead-lettered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest

from shared.rpc import encode
from shared.subjects import ingest_result_subject, ingest_subject
from tests.conftest import eventually
from tests.integration.test_projects_commands import MILESTONES, PROJECT, Projects, projects, seed  # noqa: F401

GOOD = {"message_id": "jhzjj-2026-04", "year": 2026, "code": "01", "as_of": "2026-04-30", "percent": 30,
        "milestones_completed": ["方案设计"], "narrative": "完成施工图设计和招标文件编制",
        "problems": "部分住户对加装电梯意见不一", "funds_spent_wan": 420.5}


class Department:
    """A department's side of NATS: publish on its ingest subject, read its results."""

    def __init__(self, nc: Any, code: str) -> None:
        self.nc, self.js, self.code = nc, nc.jetstream(), code
        self.results: dict[int, dict[str, Any]] = {}

    async def listen(self) -> None:
        """Collect the results published for this department, by stream sequence."""
        async def keep(msg: Any) -> None:
            result = json.loads(msg.data)
            self.results[result["stream_seq"]] = result

        self.sub = await self.nc.subscribe(ingest_result_subject(self.code), cb=keep)

    async def send(self, payload: dict[str, Any] | bytes) -> dict[str, Any]:
        """Publish one message and wait for its result."""
        data = payload if isinstance(payload, bytes) else encode(payload)
        ack = await self.js.publish(ingest_subject(self.code, "progress"), data)
        return await eventually(lambda: asyncio.sleep(0, self.results.get(ack.seq)))


@pytest.fixture
async def departments(projects, nc) -> AsyncIterator[dict[str, Department]]:
    """Year, departments and project 01 with its plan; the lead unit, the co-unit and an unrelated unit."""
    await seed(projects)
    found = {code: Department(nc, code) for code in ("jhzjj", "jhczj", "jhjyj")}
    for d in found.values():
        await d.listen()
    yield found
    for d in found.values():
        await d.sub.unsubscribe()


async def dead_letters(p: Projects) -> list[dict[str, Any]]:
    """The dead-letter table of the projects service."""
    assert p.service.pool is not None
    return [dict(r) for r in await p.service.pool.fetch("SELECT * FROM ingest_dead_letters ORDER BY stream_seq")]


async def test_a_valid_report_is_recorded_and_visible_in_the_projection(projects, departments):
    result = await departments["jhzjj"].send(GOOD)
    assert result["status"] == "accepted" and result["message_id"] == "jhzjj-2026-04" and result["reasons"] == []
    stored = await projects.service.store.load("project-2026-01")
    assert str(stored[-1].event_id) == result["event_ids"][0]
    assert stored[-1].type == "ProgressReported" and stored[-1].actor == "dept:jhzjj"
    assert stored[-1].occurred_at.date() == date(2026, 4, 29), "as-of day at local midnight (UTC the day before)"
    detail = await projects.project_when("project-2026-01", lambda r: r["reports"])
    report = detail["reports"][0]
    assert (report["percent"], report["reported_by"], report["message_id"]) == (30, "jhzjj", "jhzjj-2026-04")
    assert report["problems"] == GOOD["problems"] and report["funds_spent_wan"] == 420.5
    assert detail["project"]["status"] == "in_progress" and detail["project"]["last_report_as_of"] == "2026-04-30"


async def test_a_co_unit_reports_too(departments):
    result = await departments["jhczj"].send({**GOOD, "message_id": "czj-1", "narrative": "资金已拨付"})
    assert result["status"] == "accepted"


async def test_wrong_department_is_rejected_and_kept(projects, departments):
    result = await departments["jhjyj"].send({**GOOD, "message_id": "jyj-1"})
    assert result["status"] == "rejected"
    assert result["reasons"] == [{
        "code": "not_responsible_unit", "field": "reported_by",
        "zh": "部门 jhjyj 不是项目 01 的牵头单位或配合单位",
        "en": "department jhjyj is neither the lead unit nor a co-unit of project 01"}]
    dead = await dead_letters(projects)
    assert [(d["dept_code"], json.loads(d["payload"])["message_id"]) for d in dead] == [("jhjyj", "jyj-1")]
    assert len(await projects.service.store.load("project-2026-01")) == 2, "nothing recorded"


def _future() -> str:
    return (date.today() + timedelta(days=3)).isoformat()


# (what is wrong, message overrides, expected reason codes); sent in this order after GOOD was accepted.
REJECTIONS: list[tuple[str, dict[str, Any], set[str]]] = [
    ("percent missing", {"percent": None}, {"validation"}),
    ("percent above 100", {"percent": 120}, {"validation"}),
    ("unknown field", {"progress": 50}, {"validation"}),
    ("message_id missing", {"message_id": None}, {"validation"}),
    ("unknown project", {"code": "99"}, {"project_not_found"}),
    ("year not opened", {"year": 2025, "as_of": "2025-06-30"}, {"year_not_open"}),
    ("percent goes down", {"percent": 20, "as_of": "2026-05-31"}, {"percent_decreased"}),
    ("correction without reason", {"percent": 20, "as_of": "2026-05-31", "correction": True},
     {"correction_reason_missing"}),
    ("as-of in the future", {"as_of": _future(), "percent": 40}, {"date_in_future"}),
    ("as-of before the plan", {"as_of": "2026-02-01", "percent": 40}, {"date_before_plan", "as_of_before_last_report"}),
    ("as-of before the latest report", {"as_of": "2026-04-15", "percent": 40}, {"as_of_before_last_report"}),
    ("milestone not in the plan", {"as_of": "2026-05-31", "percent": 40, "milestones_completed": ["方案设计", "绿化"]},
     {"unknown_milestone"}),
    ("completed milestone left out", {"as_of": "2026-05-31", "percent": 40, "milestones_completed": []},
     {"milestone_uncompleted"}),
]


async def test_each_rejection_reason(projects, departments):
    lead = departments["jhzjj"]
    assert (await lead.send(GOOD))["status"] == "accepted"
    for n, (what, overrides, expected) in enumerate(REJECTIONS):
        payload = {k: v for k, v in {**GOOD, "message_id": f"bad-{n}", **overrides}.items() if v is not None}
        result = await lead.send(payload)
        assert result["status"] == "rejected", what
        assert {r["code"] for r in result["reasons"]} == expected, (what, result["reasons"])
        assert all(r["zh"] and r["en"] for r in result["reasons"]), what
    dead = await dead_letters(projects)
    assert len(dead) == len(REJECTIONS), "every rejected message is kept with its reasons"
    assert all(d["reasons"] for d in dead)
    stored = await projects.service.store.load("project-2026-01")
    assert [e.type for e in stored].count("ProgressReported") == 1


async def test_no_report_before_the_plan_nor_after_acceptance(projects, departments):
    await projects.ok("register_voted_project", {**PROJECT, "code": "02", "title": "第二个项目", "locations": []})
    lead = departments["jhzjj"]
    early = await lead.send({**GOOD, "message_id": "p2", "code": "02"})
    assert [r["code"] for r in early["reasons"]] == ["no_plan"]
    await lead.send({**GOOD, "message_id": "full", "percent": 100,
                     "milestones_completed": [m["name"] for m in MILESTONES]})
    await projects.ok("complete_project", {"year": 2026, "code": "01", "completed_on": "2026-05-01"})
    await projects.ok("accept_project", {"year": 2026, "code": "01", "accepted_on": "2026-05-10", "accepted_by": "市住建局"})
    late = await lead.send({**GOOD, "message_id": "after", "as_of": "2026-05-31", "percent": 100,
                            "milestones_completed": [m["name"] for m in MILESTONES]})
    assert [r["code"] for r in late["reasons"]] == ["project_accepted"]


async def test_an_unparseable_payload_is_dead_lettered_as_it_came(projects, departments):
    raw = b'{"message_id": "x1", "percent": 3'
    result = await departments["jhzjj"].send(raw)
    assert result["status"] == "rejected" and result["reasons"][0]["code"] == "unparseable"
    dead = await dead_letters(projects)
    assert dead[0]["payload"] == raw and dead[0]["subject"] == "huimin.ingest.jhzjj.progress"


async def test_the_same_message_twice_is_recorded_once(projects, departments):
    lead = departments["jhzjj"]
    first = await lead.send(GOOD)
    again = await lead.send(GOOD)  # the department resent it (e.g. after a lost connection)
    assert first["status"] == "accepted" and again["status"] == "duplicate"
    assert again["event_ids"] == first["event_ids"]
    # JetStream redelivers a message it did not see acked: the same stream sequence is answered from the log.
    consumer = projects.service.ingest()
    redelivered = await consumer.process(ingest_subject("jhzjj", "progress"), encode(GOOD), first["stream_seq"])
    assert redelivered["status"] == "accepted" and redelivered["event_ids"] == first["event_ids"]
    stored = await projects.service.store.load("project-2026-01")
    assert [e.type for e in stored].count("ProgressReported") == 1
    detail = await projects.project_when("project-2026-01", lambda r: r["reports"])
    assert len(detail["reports"]) == 1
