"""The briefing's statuses on a day (from its own history tables) equal the supervision view rebuilt as of that day."""

from __future__ import annotations

from datetime import date, timedelta

from services.projection.board_query import on_day
from services.projection.supervision_query import projects_on, today
from services.projection.views.briefing import statuses_on
from shared.contracts import projects as prj
from tests.integration.test_view_supervision import CAL, MILESTONES, at, voted
from tests.integration.views import Stream, apply, views  # noqa: F401 (fixture)

REVISED = [prj.Milestone(name="设计", due=date(2026, 4, 1), weight=20),
           prj.Milestone(name="施工", due=date(2026, 9, 15), weight=70),
           prj.Milestone(name="验收准备", due=date(2026, 11, 1), weight=10)]


def ids(code: str, year: int = 2026) -> dict:
    return {"project_id": f"project-{year}-{code}", "year": year, "code": code}


def report(code: str, as_of: date, percent: float, done: list[str] | None = None) -> prj.ProgressReported:
    return prj.ProgressReported(**ids(code), reported_by="jhzjj", as_of=as_of, percent=percent,
                                milestones_completed=done or [])


def plan(code: str, submitted: date, late: bool) -> prj.PlanSubmitted:
    return prj.PlanSubmitted(**ids(code), milestones=MILESTONES, target_completion=date(2026, 10, 31),
                             submitted_on=submitted, plan_deadline=CAL.plan_deadline, late=late)


def history():
    """Five projects of 2026 and one of 2025; backdated and out-of-order events; events near midnight."""
    y = Stream("year-2026")
    p1, p2, p3, p4, p5 = (Stream(f"project-2026-0{i}") for i in range(1, 6))
    old = Stream("project-2025-01")
    late_evening = timedelta(hours=23, minutes=30)  # still the same city day
    return [
        y.envelope(prj.YearOpened(year=2026, calendar=CAL), at(date(2026, 1, 22))),
        p1.envelope(voted("01", "嘎洒镇", "jhzjj"), at(date(2026, 1, 20))),
        p2.envelope(voted("02", "勐龙镇", "jhjyj"), at(date(2026, 1, 20))),
        p3.envelope(voted("03", "勐罕镇", "jhzjj"), at(date(2026, 1, 20))),
        p4.envelope(voted("04", "勐养镇", "jhjyj"), at(date(2026, 1, 20))),
        old.envelope(prj.ProjectVoted(**ids("01", 2025), title="旧项目", category="教育", lead_unit="jhjyj",
                                      votes_for=1, votes_against=0, votes_abstain=0, voted_on=date(2025, 1, 20)),
                     at(date(2025, 1, 20))),
        p3.envelope(plan("03", date(2026, 2, 10), False), at(date(2026, 2, 10))),
        p4.envelope(plan("04", date(2026, 2, 12), False), at(date(2026, 2, 12))),
        p1.envelope(plan("01", date(2026, 3, 1), True), at(date(2026, 3, 1))),
        # The plan deadline moves earlier: project 02 (never a plan) turns red sooner from then on.
        y.envelope(prj.YearCalendarAdjusted(year=2026, calendar=CAL.model_copy(update={"plan_deadline": date(2026, 2, 15)}),
                                            reason="调整"), at(date(2026, 3, 15))),
        p5.envelope(voted("05", "景哈乡", "jhzjj"), at(date(2026, 4, 1))),
        p3.envelope(report("03", date(2026, 3, 20), 15), at(date(2026, 3, 20))),
        p3.envelope(report("03", date(2026, 4, 2), 25, ["设计"]), at(date(2026, 4, 2))),
        p1.envelope(report("01", date(2026, 4, 5), 22, ["设计"]), at(date(2026, 4, 5))),
        p4.envelope(prj.ProjectCancelled(**ids("04"), cancelled_on=date(2026, 5, 15), reason="资金调整"),
                    at(date(2026, 5, 15)) + late_evening),
        p1.envelope(report("01", date(2026, 6, 1), 30), at(date(2026, 6, 1))),
        p1.envelope(prj.ObstacleReported(**ids("01"), obstacle_id="o1", kind="resistance", description="征地补偿未谈妥",
                                         reported_on=date(2026, 6, 3)), at(date(2026, 6, 3))),
        # Backdated: reported (and happened) on 5 June after the 3 June obstacle, as of 1 June: a correction
        # of the same date, the later one counts.
        p1.envelope(report("01", date(2026, 6, 1), 33), at(date(2026, 6, 1))),
        # Backdated obstacle: reported on 20 May, recorded after 3 June's events.
        p1.envelope(prj.ObstacleReported(**ids("01"), obstacle_id="o2", kind="slow_progress", description="材料供应慢",
                                         reported_on=date(2026, 5, 20)), at(date(2026, 5, 20))),
        p3.envelope(report("03", date(2026, 7, 10), 60), at(date(2026, 7, 10))),
        # Out of order: an earlier report after a later one (the milestone it marks counts from 10 July).
        p3.envelope(report("03", date(2026, 7, 1), 55, ["施工"]), at(date(2026, 7, 1))),
        p1.envelope(prj.ObstacleResolved(**ids("01"), obstacle_id="o1", resolved_on=date(2026, 7, 20),
                                         resolution="已谈妥"), at(date(2026, 7, 20)) + late_evening),
        p1.envelope(report("01", date(2026, 8, 1), 50, ["施工"]), at(date(2026, 8, 1))),
        p1.envelope(prj.PlanRevised(**ids("01"), revision=2, milestones=REVISED, target_completion=date(2026, 11, 15),
                                    revised_on=date(2026, 8, 15), reason="雨季"), at(date(2026, 8, 15))),
        # Half an hour after midnight in the city is still the previous day in UTC.
        p3.envelope(prj.ProjectCompleted(**ids("03"), completed_on=date(2026, 9, 1)),
                    at(date(2026, 9, 1)) + timedelta(minutes=30)),
        p3.envelope(prj.ProjectAccepted(**ids("03"), accepted_on=date(2026, 9, 20), accepted_by="jhzjj"),
                    at(date(2026, 9, 20))),
        p1.envelope(prj.ObstacleResolved(**ids("01"), obstacle_id="o2", resolved_on=date(2026, 9, 25),
                                         resolution="已到货"), at(date(2026, 9, 25))),
        p5.envelope(plan("05", date(2026, 4, 3), True), at(date(2026, 4, 3))),
    ]


def days_to_check(events) -> list[date]:
    """Around every event's city day, the 1st and 15th of each month, today and a day after."""
    days = {date(2026, m, d) for m in range(1, 13) for d in (1, 15)}
    for env in events:
        day = (env.occurred_at + timedelta(hours=8)).date()  # Asia/Shanghai has no daylight saving
        days |= {day - timedelta(days=1), day, day + timedelta(days=1)}
    return sorted(days | {today(), today() + timedelta(days=1)})


async def test_briefing_statuses_equal_the_rebuilt_supervision_view(views):
    events = history()
    await apply(views, events, batch=7)

    async def rebuilt(day: date) -> dict[str, tuple]:
        async def answer(c, d):
            return {r["project_id"]: (r["code"], r["title"], r["status"], r["reasons"])
                    for r in await projects_on(c, d, year=2026)}
        async with views.pool.acquire() as conn:
            return await on_day(conn, day, answer, "supervision")

    seen: set[str] = set()
    for day in days_to_check(events):
        async with views.pool.acquire() as conn:
            mine = await statuses_on(conn, 2026, day)
        got = {pid: (r["code"], r["title"], r["status"], r["reasons"]) for pid, r in mine.items()}
        assert got == await rebuilt(day), day
        seen |= {r[2] for r in got.values()}
    # The history goes through every status (a check that cannot pass by comparing empty answers).
    assert seen == {"green", "amber", "red", "grey"}


async def test_statuses_before_any_vote_are_empty(views):
    await apply(views, history())
    async with views.pool.acquire() as conn:
        assert await statuses_on(conn, 2026, date(2026, 1, 19)) == {}
        assert set(await statuses_on(conn, 2026, date(2026, 3, 31))) == {f"project-2026-0{i}" for i in range(1, 5)}
        assert set(await statuses_on(conn, 2025, date(2026, 3, 31))) == {"project-2025-01"}
