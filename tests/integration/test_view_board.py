"""Group and department boards: given events -> expected members, projects, activities, feedback, as of a date."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.projection.board_query import department_board, group_board
from shared.contracts import activities as act
from shared.contracts import delegates as dlg
from shared.contracts import feedback as fb
from shared.contracts import projects as prj
from shared.contracts.projection import DepartmentBoard, GroupBoard
from shared.errors import NotFound
from tests.integration.test_view_supervision import at, year_history
from tests.integration.views import Stream, apply, views  # noqa: F401 (fixture)


def board_history():
    """The supervision test's year, plus members, attendance, a second feedback item and departments."""
    g1, d2, a1, a2 = Stream("group-g01"), Stream("delegate-d002"), Stream("activity-a1"), Stream("activity-a2")
    f2, dep = Stream("feedback-f2"), Stream("department-jhzjj")
    base = year_history()
    # year_history's group-g01 and activity-a1 streams have one event each already.
    g1.version, a1.version = 1, 1
    return base + [
        dep.envelope(prj.DepartmentRegistered(code="jhzjj", name="景洪市住房和城乡建设局", short_name="住建局")),
        d2.envelope(dlg.DelegateRegistered(delegate_id="d002", name="玉香", gender="女", ethnicity="傣族",
                                           level="city", constituency="嘎洒镇", term_start=date(2022, 1, 1))),
        g1.envelope(dlg.GroupMemberJoined(group_id="g01", year=2026, delegate_id="d001"), at(date(2026, 2, 2))),
        g1.envelope(dlg.GroupMemberJoined(group_id="g01", year=2026, delegate_id="d002"), at(date(2026, 2, 2))),
        g1.envelope(dlg.GroupLeaderAppointed(group_id="g01", year=2026, delegate_id="d001"), at(date(2026, 2, 3))),
        a1.envelope(act.AttendanceRecorded(activity_id="a1", delegate_id="d001", status="present"),
                    at(date(2026, 5, 10))),
        a1.envelope(act.AttendanceRecorded(activity_id="a1", delegate_id="d002", status="absent"),
                    at(date(2026, 5, 10))),
        a1.envelope(act.AttendanceCorrected(activity_id="a1", delegate_id="d002", previous_status="absent",
                                            status="excused", reason="补交请假条"), at(date(2026, 5, 11))),
        a2.envelope(act.ActivityScheduled(activity_id="a2", year=2026, kind="mobilisation", title="小组动员会",
                                          project_ids=[], group_ids=["g01"], organiser="g01",
                                          starts_at=at(date(2026, 3, 10)),
                                          ends_at=at(date(2026, 3, 10)) + timedelta(hours=2),
                                          place="嘎洒镇", phase="mobilisation"), at(date(2026, 3, 1))),
        a2.envelope(act.AttendanceRecorded(activity_id="a2", delegate_id="d001", status="present"),
                    at(date(2026, 3, 10))),
        f2.envelope(fb.FeedbackSubmitted(feedback_id="f2", year=2026, source="delegate", project_id="project-2026-01",
                                         category="质量", content="排水不畅", raised_by=["d002"],
                                         raised_on=date(2026, 5, 20)), at(date(2026, 5, 20))),
        f2.envelope(fb.FeedbackForwarded(feedback_id="f2", round=1, main_department="jhjyj",
                                         co_departments=["jhzjj"], forwarded_on=date(2026, 5, 21),
                                         due_on=date(2026, 6, 20)), at(date(2026, 5, 21))),
        f2.envelope(fb.FeedbackCoReplied(feedback_id="f2", round=1, dept_code="jhzjj",
                                         answered_at=at(date(2026, 6, 1)), result="adopted", content="已配合"),
                    at(date(2026, 6, 1))),
    ]


@pytest.fixture
async def built(views):
    await apply(views, board_history())
    return views


async def ask(runner, query):
    async with runner.pool.acquire() as conn:
        return await (group_board if isinstance(query, GroupBoard) else department_board)(conn, query)


async def test_group_board_today(built):
    board = await ask(built, GroupBoard(group_id="g01", year=2026))
    assert board["name"] == "嘎洒镇代表小组"
    assert [(m["delegate_id"], m["name"], m["leader"]) for m in board["members"]] == [
        ("d001", "岩温", True), ("d002", "玉香", False)]
    assert [p["project_id"] for p in board["projects"]] == ["project-2026-01"]
    assert board["projects"][0]["status"] == "red" and board["counts"]["red"] == 1
    assert board["activities_held"]["inspection"] == 1 and board["activities_held"]["mobilisation"] == 1
    assert board["phases"] == {"mobilisation": True, "summary": False}
    assert board["attendance"] == {"present": 2, "absent": 0, "excused": 1, "total": 3, "rate": 66.7}
    assert board["members"][0]["attendance"]["rate"] == 100.0
    assert board["members"][1]["attendance"]["excused"] == 1


async def test_group_board_as_of_a_past_date(built):
    board = await ask(built, GroupBoard(group_id="g01", year=2026, as_of=date(2026, 4, 1)))
    assert board["as_of"] == date(2026, 4, 1)
    assert board["activities_held"]["inspection"] == 0 and board["activities_total"] == 1
    assert board["attendance"]["total"] == 1 and board["attendance"]["rate"] == 100.0
    early = await ask(built, GroupBoard(group_id="g01", year=2026, as_of=date(2026, 2, 1)))
    assert early["members"] == [] and early["projects"] == []


async def test_department_board_projects_feedback_and_overdue(built):
    lead = await ask(built, DepartmentBoard(dept_code="jhzjj", year=2026))
    assert lead["name"] == "景洪市住房和城乡建设局"
    assert [(p["project_id"], p["role"], p["status"]) for p in lead["projects"]] == [("project-2026-01", "lead", "red")]
    assert [(i["feedback_id"], i["role"], i["answered"]) for i in lead["open_feedback"]] == [
        ("f1", "main", False), ("f2", "co", True)]
    assert [i["feedback_id"] for i in lead["overdue_answers"]] == ["f1"]
    edu = await ask(built, DepartmentBoard(dept_code="jhjyj", year=2026))
    assert [p["project_id"] for p in edu["projects"]] == ["project-2026-02"]
    assert [i["feedback_id"] for i in edu["overdue_answers"]] == ["f2"]
    before = await ask(built, DepartmentBoard(dept_code="jhjyj", year=2026, as_of=date(2026, 6, 10)))
    assert [i["feedback_id"] for i in before["open_feedback"]] == ["f2"] and before["overdue_answers"] == []


async def test_unknown_group_or_department_is_not_found(built):
    with pytest.raises(NotFound):
        await ask(built, GroupBoard(group_id="g99", year=2026))
    with pytest.raises(NotFound):
        await ask(built, DepartmentBoard(dept_code="nobody", year=2026))


async def test_redelivery_changes_nothing(views):
    events = board_history()
    await apply(views, events)
    once = [await ask(views, GroupBoard(group_id="g01", year=2026)),
            await ask(views, DepartmentBoard(dept_code="jhzjj", year=2026))]
    await apply(views, events + events[::-1], batch=4)
    assert [await ask(views, GroupBoard(group_id="g01", year=2026)),
            await ask(views, DepartmentBoard(dept_code="jhzjj", year=2026))] == once
