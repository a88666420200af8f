"""Supervision view and city board: given events -> expected status, reasons, four ones, as of a date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.projection.supervision_query import city_board, get_supervision, projects_on, statuses_on
from shared.contracts import activities as act
from shared.contracts import delegates as dlg
from shared.contracts import feedback as fb
from shared.contracts import projects as prj
from shared.contracts.projection import CityBoard, GetSupervision
from shared.timeutil import start_of_day
from tests.integration.views import Stream, apply, views  # noqa: F401 (fixture)

CAL = prj.YearCalendar(
    session_start=date(2026, 1, 18), session_end=date(2026, 1, 22), plan_deadline=date(2026, 2, 22),
    mobilisation=prj.PhaseWindow(start=date(2026, 2, 1), end=date(2026, 3, 31)),
    supervision=prj.PhaseWindow(start=date(2026, 4, 1), end=date(2026, 11, 30)),
    summary=prj.PhaseWindow(start=date(2026, 12, 1), end=date(2026, 12, 31)),
)
MILESTONES = [prj.Milestone(name="设计", due=date(2026, 4, 1), weight=20),
              prj.Milestone(name="施工", due=date(2026, 8, 1), weight=60),
              prj.Milestone(name="验收准备", due=date(2026, 10, 1), weight=20)]


def at(day: date) -> datetime:
    return start_of_day(day).astimezone(UTC)


def voted(code: str, township: str, lead: str) -> prj.ProjectVoted:
    return prj.ProjectVoted(project_id=f"project-2026-{code}", year=2026, code=code, title=f"项目{code}",
                            category="城乡建设", lead_unit=lead, townships=[township], votes_for=200,
                            votes_against=1, votes_abstain=1, voted_on=date(2026, 1, 20))


def year_history():
    y, p1, p2 = Stream("year-2026"), Stream("project-2026-01"), Stream("project-2026-02")
    sup, d1, g1 = Stream("supervision-project-2026-01"), Stream("delegate-d001"), Stream("group-g01")
    a1, cp, f1 = Stream("activity-a1"), Stream("contactpoint-cp1"), Stream("feedback-f1")
    ev1, ev2 = Stream("evaluation-p1-d001"), Stream("evaluation-p1-d002")
    ids = dict(project_id="project-2026-01", year=2026, code="01")
    return [
        y.envelope(prj.YearOpened(year=2026, calendar=CAL), at(date(2026, 1, 22))),
        p1.envelope(voted("01", "嘎洒镇", "jhzjj"), at(date(2026, 1, 20))),
        p2.envelope(voted("02", "勐龙镇", "jhjyj"), at(date(2026, 1, 20))),
        p1.envelope(prj.PlanSubmitted(**ids, milestones=MILESTONES, target_completion=date(2026, 10, 31),
                                      submitted_on=date(2026, 3, 1), plan_deadline=date(2026, 2, 22), late=True,
                                      days_late=7), at(date(2026, 3, 1))),
        p1.envelope(prj.ProgressReported(**ids, reported_by="jhzjj", as_of=date(2026, 4, 5), percent=22,
                                         milestones_completed=["设计"]), at(date(2026, 4, 5))),
        p1.envelope(prj.ProgressReported(**ids, reported_by="jhzjj", as_of=date(2026, 6, 1), percent=30),
                    at(date(2026, 6, 1))),
        p1.envelope(prj.ObstacleReported(**ids, obstacle_id="o1", kind="resistance", description="征地补偿未谈妥",
                                         reported_on=date(2026, 6, 3)), at(date(2026, 6, 3))),
        d1.envelope(dlg.DelegateRegistered(delegate_id="d001", name="岩温", gender="男", ethnicity="傣族",
                                           level="city", constituency="嘎洒镇", term_start=date(2022, 1, 1))),
        g1.envelope(dlg.GroupFormed(group_id="g01", year=2026, name="嘎洒镇代表小组", kind="township",
                                    township="嘎洒镇"), at(date(2026, 2, 1))),
        sup.envelope(dlg.SupervisionAssigned(project_id="project-2026-01", year=2026, leader_id="l1",
                                             committee_id="c1", group_id="g01"), at(date(2026, 3, 5))),
        sup.envelope(dlg.ContactDutyAssigned(project_id="project-2026-01", year=2026, delegate_ids=["d001"]),
                     at(date(2026, 3, 5))),
        a1.envelope(act.ActivityScheduled(activity_id="a1", year=2026, kind="inspection", title="视察老旧小区改造",
                                          project_ids=["project-2026-01"], group_ids=["g01"], organiser="g01",
                                          starts_at=at(date(2026, 5, 10)), ends_at=at(date(2026, 5, 10)) + timedelta(hours=3),
                                          place="嘎洒镇", phase="supervision"), at(date(2026, 5, 1))),
        cp.envelope(act.ContactPointEstablished(contact_point_id="cp1", project_id="project-2026-01", year=2026,
                                                place="曼景兰村委会", delegate_ids=["d001"],
                                                established_on=date(2026, 4, 10)), at(date(2026, 4, 10))),
        f1.envelope(fb.FeedbackSubmitted(feedback_id="f1", year=2026, source="delegate", project_id="project-2026-01",
                                         category="施工", content="夜间施工扰民", raised_by=["d001"],
                                         raised_on=date(2026, 5, 10)), at(date(2026, 5, 10))),
        f1.envelope(fb.FeedbackForwarded(feedback_id="f1", round=1, main_department="jhzjj",
                                         forwarded_on=date(2026, 5, 12), due_on=date(2026, 6, 11)),
                    at(date(2026, 5, 12))),
        ev1.envelope(fb.EvaluationVoteCast(project_id="project-2026-01", year=2026, delegate_id="d001",
                                           rating="satisfied", voted_on=date(2026, 6, 20)), at(date(2026, 6, 20))),
        ev2.envelope(fb.EvaluationVoteCast(project_id="project-2026-01", year=2026, delegate_id="d002",
                                           rating="unsatisfied", voted_on=date(2026, 6, 20)), at(date(2026, 6, 20))),
    ]


@pytest.fixture
async def built(views):
    await apply(views, year_history())
    return views


async def ask(runner, query):
    async with runner.pool.acquire() as conn:
        return await (get_supervision if isinstance(query, GetSupervision) else city_board)(conn, query)


async def test_supervision_view_today(built):
    view = await ask(built, GetSupervision(project_id="project-2026-01"))
    assert view["status"] == "red"  # expected 100 %, reported 30 %
    assert [r["code"] for r in view["reasons"]] == ["behind", "stale", "milestones_overdue", "obstacles", "plan_late"]
    assert view["percent"] == 30 and view["last_report_on"] == date(2026, 6, 1)
    assert [m["overdue"] for m in view["milestones"]] == [False, True, True]
    assert view["four_ones"] == {"contact_points": 1, "inspections": 1, "research": 0, "contributions": 0}
    assert view["compliance"] == {"met": 2, "of": 4}
    assert view["assignment"]["group"] == {"id": "g01", "name": "嘎洒镇代表小组"}
    assert view["assignment"]["contact_delegates"] == [{"id": "d001", "name": "岩温"}]
    assert view["assignment"]["group_phases"] == {"mobilisation": False, "summary": False}
    assert view["feedback"]["open"] == 1 and view["feedback"]["overdue"] == 1
    assert view["evaluation"]["total"] == 2 and view["evaluation"]["rate"] == 50.0


async def test_supervision_view_as_of_a_past_date(built):
    view = await ask(built, GetSupervision(project_id="project-2026-01", as_of=date(2026, 4, 20)))
    assert view["as_of"] == date(2026, 4, 20) and view["phase"] == "supervision"
    assert view["percent"] == 22 and view["last_report_on"] == date(2026, 4, 5)
    assert view["status"] == "amber" and [r["code"] for r in view["reasons"]] == ["plan_late"]
    assert view["obstacles_open"] == [] and view["four_ones"]["inspections"] == 0
    assert view["feedback"]["open"] == 0


async def test_city_board_counts_and_filters(built):
    board = await ask(built, CityBoard(year=2026))
    assert board["total"] == 2 and board["counts"] == {"green": 0, "amber": 0, "red": 2, "grey": 0}
    only = await ask(built, CityBoard(year=2026, township="勐龙镇"))
    assert [i["project_id"] for i in only["items"]] == ["project-2026-02"]
    assert only["items"][0]["reasons"][0]["code"] == "no_plan"
    early = await ask(built, CityBoard(year=2026, as_of=date(2026, 2, 10)))
    assert early["counts"]["green"] == 2, "before the plan deadline nothing is late"


async def test_unknown_project_is_not_found(built):
    from shared.errors import NotFound

    with pytest.raises(NotFound):
        await ask(built, GetSupervision(project_id="project-2026-99"))


async def test_redelivery_changes_nothing(views):
    events = year_history()
    await apply(views, events)
    once = await ask(views, GetSupervision(project_id="project-2026-01"))
    await apply(views, events + events[::-1], batch=4)
    assert await ask(views, GetSupervision(project_id="project-2026-01")) == once


async def test_board_numbers_equal_each_project_view(built):
    """An activity about two projects (one named twice) counts once for each; a cancelled one for none.

    The board aggregates every project of the year at once, the view one project: both give the same row.
    """
    a2, a3 = Stream("activity-a2"), Stream("activity-a3")
    both = ["project-2026-01", "project-2026-02", "project-2026-01"]
    held = {"year": 2026, "kind": "research", "title": "调研两个项目", "group_ids": ["g01"], "organiser": "g01",
            "starts_at": at(date(2026, 6, 10)), "ends_at": at(date(2026, 6, 10)) + timedelta(hours=2),
            "place": "嘎洒镇", "phase": "supervision"}
    await apply(built, [
        a2.envelope(act.ActivityScheduled(activity_id="a2", project_ids=both, **held), at(date(2026, 6, 1))),
        a3.envelope(act.ActivityScheduled(activity_id="a3", project_ids=both[:2], **held), at(date(2026, 6, 1))),
        a3.envelope(act.ActivityCancelled(activity_id="a3", reason="暴雨"), at(date(2026, 6, 2))),
    ])
    board = await ask(built, CityBoard(year=2026))
    by_id = {i["project_id"]: i for i in board["items"]}
    # Pages smaller than the year take the other path (statuses first, full rows for the page): same items.
    paged = [(await ask(built, CityBoard(year=2026, limit=1, offset=o)))["items"][0] for o in (0, 1)]
    assert paged == board["items"]
    assert by_id["project-2026-01"]["compliance"] == {"met": 3, "of": 4}  # contact point, inspection, research
    for pid in ("project-2026-01", "project-2026-02"):
        view = await ask(built, GetSupervision(project_id=pid))
        assert view["four_ones"]["research"] == 1
        assert {k: view[k] for k in ("status", "reasons", "percent", "expected_percent", "feedback", "compliance")} \
            == {k: by_id[pid][k] for k in ("status", "reasons", "percent", "expected_percent", "feedback",
                                            "compliance")}


async def test_the_boards_status_rows_equal_the_full_rows_on_every_day(built):
    """The board derives every project's status from its status inputs only (statuses_on) and builds full
    rows for its page alone: both must give the same status, reasons and percents, whatever the day."""
    fields = ("project_id", "code", "category", "lead_unit", "townships", "phase", "lifecycle", "status", "reasons",
              "percent", "expected_percent", "last_report_on")
    async with built.pool.acquire() as conn:
        seen = set()
        for day in (date(2026, 2, 10), date(2026, 3, 2), date(2026, 6, 2), date(2026, 6, 3), date(2026, 7, 20)):
            lean = await statuses_on(conn, day, 2026)
            full = await projects_on(conn, day, year=2026)
            assert [{k: r[k] for k in fields} for r in lean] == [{k: r[k] for k in fields} for r in full], day
            seen |= {(r["project_id"], r["status"], tuple(x["code"] for x in r["reasons"])) for r in lean}
    # The days cover an open obstacle (counted, not listed, on the board), a missing plan, staleness, green.
    assert {("project-2026-01", "amber", ("behind", "obstacles", "plan_late")),
            ("project-2026-01", "red", ("behind", "stale", "obstacles", "plan_late")),
            ("project-2026-02", "red", ("no_plan",)), ("project-2026-02", "green", ())} <= seen
