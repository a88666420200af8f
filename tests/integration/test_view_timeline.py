"""Timeline view: given events -> every event about a thing, in order, with who did it."""

from __future__ import annotations

from datetime import date, timedelta

from services.projection.views.timeline import get_timeline
from shared.contracts.delegates import ContactDutyAssigned, DelegateRegistered, SupervisionAssigned
from shared.contracts.projection import GetTimeline
from shared.contracts.projects import ProjectVoted
from tests.integration.views import T0, Stream, apply, views  # noqa: F401 (fixture)

VOTED = ProjectVoted(project_id="project-2026-01", year=2026, code="01", title="老旧小区改造", category="城乡建设",
                     lead_unit="jhzjj", votes_for=200, votes_against=3, votes_abstain=2, voted_on=date(2026, 1, 20))


def history():
    project = Stream("project-2026-01")
    delegate = Stream("delegate-d001")
    supervision = Stream("supervision-project-2026-01")
    return [
        project.envelope(VOTED, T0 - timedelta(days=30), actor="office:王芳"),
        delegate.envelope(DelegateRegistered(delegate_id="d001", name="岩温", gender="男", ethnicity="傣族", level="city",
                                             constituency="嘎洒镇", phone="13800000000", term_start=date(2022, 1, 1))),
        supervision.envelope(SupervisionAssigned(project_id="project-2026-01", year=2026, leader_id="l1",
                                                 committee_id="c1", group_id="g01"), T0 + timedelta(days=1)),
        supervision.envelope(ContactDutyAssigned(project_id="project-2026-01", year=2026, delegate_ids=["d001"]),
                             T0 + timedelta(days=2), actor="office:李明"),
    ]


async def test_project_timeline_includes_events_of_other_streams_about_it(views):
    await apply(views, history())
    async with views.pool.acquire() as conn:
        result = await get_timeline(conn, GetTimeline(ref="project-2026-01"))
    assert [(i["type"], i["actor"]) for i in result["items"]] == [
        ("ProjectVoted", "office:王芳"), ("SupervisionAssigned", "office:test"), ("ContactDutyAssigned", "office:李明"),
    ]


async def test_delegate_timeline_hides_personal_data(views):
    await apply(views, history())
    async with views.pool.acquire() as conn:
        result = await get_timeline(conn, GetTimeline(ref="d001"))
    assert [i["type"] for i in result["items"]] == ["DelegateRegistered", "ContactDutyAssigned"]
    assert "phone" not in result["items"][0]["body"] and result["items"][0]["body"]["name"] == "岩温"


async def test_redelivery_changes_nothing(views):
    events = history()
    await apply(views, events)
    async with views.pool.acquire() as conn:
        once = await get_timeline(conn, GetTimeline(ref="project-2026-01"))
    await apply(views, events + events, batch=3)
    async with views.pool.acquire() as conn:
        assert await get_timeline(conn, GetTimeline(ref="project-2026-01")) == once
