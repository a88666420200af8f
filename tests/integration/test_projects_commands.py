"""The projects service over NATS and PostgreSQL: year, departments, a project's life, and the projection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from services.projection.main import build as build_projection
from services.projects.main import build as build_projects
from shared.eventstore.store import EventStore
from shared.rpc import RpcClient
from shared.service import ServiceRuntime
from shared.subjects import command_subject, query_subject
from tests.conftest import eventually

DEPARTMENTS = [("jhzjj", "景洪市住房和城乡建设局", "市住建局"), ("jhczj", "景洪市财政局", "市财政局"),
               ("jhjyj", "景洪市教育体育局", "市教体局")]
PROJECT = {"year": 2026, "code": "01", "title": "允景洪街道老旧小区改造提升", "category": "城乡建设",
           "lead_unit": "jhzjj", "co_units": ["jhczj"], "townships": ["允景洪街道"],
           "locations": [{"township": "允景洪街道", "label": "曼听片区", "lat": 22.003, "lon": 100.806}],
           "budget_wan": 3200, "votes_for": 268, "votes_against": 4, "votes_abstain": 6, "voted_on": "2026-01-20"}
MILESTONES = [{"name": "方案设计", "due": "2026-03-31", "weight": 20}, {"name": "施工招标", "due": "2026-05-31", "weight": 20},
              {"name": "主体施工", "due": "2026-10-31", "weight": 50}, {"name": "竣工验收准备", "due": "2026-11-20", "weight": 10}]
PLAN = {"year": 2026, "code": "01", "milestones": MILESTONES, "target_completion": "2026-11-20", "submitted_on": "2026-02-10"}


@dataclass
class Projects:
    """The projects and projection services running, and a client to talk to them."""

    service: ServiceRuntime
    client: RpcClient

    async def command(self, name: str, payload: dict[str, Any], actor: str = "office:test") -> dict[str, Any]:
        """The reply of a command (ok or not)."""
        return await self.client.request(command_subject("projects", name), payload, actor=actor)

    async def ok(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The reply of a command that must succeed."""
        reply = await self.command(name, payload)
        assert reply["ok"], reply
        return reply

    async def query(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The reply of a projects-view query."""
        return await self.client.request(query_subject("projects", name), payload)

    async def project_when(self, project_id: str, ready: Any) -> dict[str, Any]:
        """The project's detail view once `ready(detail)` holds."""
        async def probe() -> dict[str, Any] | None:
            r = await self.query("get", {"project_id": project_id})
            return r if r.get("ok") and ready(r) else None

        return await eventually(probe)


async def seed(p: Projects, *, plan: bool = True) -> None:
    """Year 2026 (session Jan 17–20), three departments, project 01 and (optionally) its plan."""
    await p.ok("open_year", {"year": 2026, "session_start": "2026-01-17", "session_end": "2026-01-20"})
    for code, name, short in DEPARTMENTS:
        await p.ok("register_department", {"code": code, "full_name": name, "short_name": short})
    await p.ok("register_voted_project", PROJECT)
    if plan:
        await p.ok("submit_plan", PLAN)


@pytest.fixture
async def projects(settings, nc) -> AsyncIterator[Projects]:
    """The projects service and the projection, started on the test's servers."""
    service = build_projects(settings)
    projection, _ = build_projection(settings)
    await service.start()
    await projection.start()
    try:
        yield Projects(service, RpcClient(nc))
    finally:
        await projection.stop()
        await service.stop()


async def test_year_is_opened_with_derived_dates_and_adjusted_with_a_reason(projects):
    opened = await projects.ok("open_year", {"year": 2026, "session_start": "2026-01-17", "session_end": "2026-01-20"})
    calendar = opened["recorded"][0]["calendar"]
    assert calendar["plan_deadline"] == "2026-02-20"
    assert calendar["mobilisation"] == {"start": "2026-02-01", "end": "2026-03-31"}
    assert calendar["supervision"] == {"start": "2026-04-01", "end": "2026-11-30"}
    assert calendar["summary"] == {"start": "2026-12-01", "end": "2026-12-31"}
    refused = await projects.command("adjust_year_calendar", {"year": 2026, "reason": "", "plan_deadline": "2026-02-27"})
    assert refused["error"]["code"] == "validation" and refused["error"]["details"][0]["field"] == "reason"
    await projects.ok("adjust_year_calendar", {"year": 2026, "reason": "人代会闭幕推迟一周", "plan_deadline": "2026-02-27"})

    async def adjusted():
        r = await projects.query("year", {"year": 2026})
        return r if r.get("ok") and r["adjustments"] else None

    year = await eventually(adjusted)
    assert year["calendar"]["plan_deadline"] == "2026-02-27" and year["adjustments"][0]["reason"] == "人代会闭幕推迟一周"
    assert year["phase_today"] in {"mobilisation", "supervision", "summary", "after"}


async def test_a_project_needs_registered_departments(projects):
    await projects.ok("open_year", {"year": 2026, "session_start": "2026-01-17", "session_end": "2026-01-20"})
    reply = await projects.command("register_voted_project", PROJECT)
    assert reply["error"]["code"] == "validation"
    assert {(d["field"], d["code"]) for d in reply["error"]["details"]} == {
        ("lead_unit", "unknown_department"), ("co_units.0", "unknown_department")}


async def test_a_project_life_is_visible_in_the_projection(projects):
    await seed(projects, plan=False)
    late = await projects.ok("submit_plan", {**PLAN, "submitted_on": "2026-02-24"})
    assert late["recorded"][0]["late"] is True and late["recorded"][0]["days_late"] == 4
    await projects.ok("revise_plan", {
        "year": 2026, "code": "01", "milestones": [*MILESTONES[:3], {**MILESTONES[3], "due": "2026-11-25"}],
        "target_completion": "2026-11-25", "revised_on": "2026-05-08", "reason": "雨季影响，主体施工顺延"})
    report = {"year": 2026, "code": "01", "reported_by": "jhzjj", "as_of": "2026-06-30", "percent": 100,
              "milestones_completed": [m["name"] for m in MILESTONES], "funds_spent_wan": 3100}
    obstacle = await projects.ok("report_obstacle", {"year": 2026, "code": "01", "kind": "resistance",
                                                     "description": "个别住户阻挠施工", "reported_on": "2026-06-02"})
    assert obstacle["recorded"][0]["obstacle_id"] == "o1"
    await projects.ok("report_progress", report)
    refused = await projects.command("complete_project", {"year": 2026, "code": "01", "completed_on": "2026-07-01"})
    assert refused["error"]["details"][0]["code"] == "open_obstacles"
    await projects.ok("resolve_obstacle", {"year": 2026, "code": "01", "obstacle_id": "o1", "resolved_on": "2026-06-20",
                                           "resolution": "代表入户沟通后恢复施工"})
    await projects.ok("complete_project", {"year": 2026, "code": "01", "completed_on": "2026-07-01"})
    await projects.ok("accept_project", {"year": 2026, "code": "01", "accepted_on": "2026-07-15",
                                         "accepted_by": "市住建局会同市财政局", "conclusion": "工程质量合格"})

    detail = await projects.project_when("project-2026-01", lambda r: r["project"]["status"] == "accepted")
    project = detail["project"]
    assert project["plan_late"] is True and project["plan_revision"] == 2 and project["percent"] == 100
    assert project["target_completion"] == "2026-11-25" and project["open_obstacles"] == 0
    assert project["co_units"] == ["jhczj"] and project["townships"] == ["允景洪街道"]
    assert [p["revision"] for p in detail["plans"]] == [1, 2], "the old plan is kept"
    assert detail["plans"][1]["reason"] == "雨季影响，主体施工顺延"
    assert [r["percent"] for r in detail["reports"]] == [100]
    assert detail["obstacles"][0]["kind_zh"] == "遇到阻力" and detail["obstacles"][0]["resolved_on"] == "2026-06-20"
    listed = await projects.query("list", {"year": 2026, "status": "accepted", "township": "允景洪街道"})
    assert [i["project_id"] for i in listed["items"]] == ["project-2026-01"]
    departments = await projects.query("departments", {})
    assert [d["code"] for d in departments["items"]] == ["jhczj", "jhjyj", "jhzjj"]
    # The service decides on the events it appended, kept as it decided them: the stored ones, decoded.
    store = projects.service.store
    assert store is not None
    kept = await store.load_events("project-2026-01")
    assert kept == await EventStore(store.pool, store.registry).load_events("project-2026-01") and kept[1] == 8


async def test_events_carry_the_business_date_as_occurred_at(projects):
    await seed(projects)
    stored = await projects.service.store.load("project-2026-01")
    assert [(e.type, e.occurred_at.date().isoformat()) for e in stored] == [
        ("ProjectVoted", "2026-01-19"), ("PlanSubmitted", "2026-02-09")], "local midnight, stored in UTC"
    assert stored[1].recorded_at > stored[1].occurred_at


async def test_cancellation_with_a_reason(projects):
    await seed(projects)
    reply = await projects.ok("cancel_project", {"year": 2026, "code": "01", "cancelled_on": "2026-03-02",
                                                 "reason": "上级补助资金未下达，经市政府常务会研究取消"})
    assert reply["recorded"][0]["type"] == "ProjectCancelled"
    again = await projects.command("report_obstacle", {"year": 2026, "code": "01", "kind": "slow_progress",
                                                       "description": "进展缓慢", "reported_on": "2026-03-05"})
    assert again["error"]["code"] == "conflict" and again["error"]["details"][0]["code"] == "project_cancelled"
    detail = await projects.project_when("project-2026-01", lambda r: r["project"]["status"] == "cancelled")
    assert detail["project"]["cancel_reason"].startswith("上级补助资金")
