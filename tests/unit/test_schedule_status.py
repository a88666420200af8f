"""Schedule status rules: green / amber / red and their reasons."""

from __future__ import annotations

from datetime import date

from services.projection.schedule import PlannedMilestone, Thresholds, expected_percent, schedule_status

START = date(2026, 3, 1)
PLAN = [
    PlannedMilestone("设计", date(2026, 4, 1), 20, True),
    PlannedMilestone("施工", date(2026, 8, 1), 60, False),
    PlannedMilestone("验收准备", date(2026, 10, 1), 20, False),
]


def status(day, percent, last_report, **kw):
    args = dict(day=day, lifecycle="active", milestones=PLAN, plan_start=START, plan_deadline=date(2026, 2, 28),
                plan_late=False, percent=percent, last_report_on=last_report, open_obstacles=0,
                thresholds=Thresholds())
    args.update(kw)
    return schedule_status(**args)


def codes(result):
    return [r["code"] for r in result[1]]


def test_expected_percent_is_linear_between_due_dates():
    assert expected_percent(PLAN, START, date(2026, 3, 1)) == 0
    assert expected_percent(PLAN, START, date(2026, 4, 1)) == 20
    assert expected_percent(PLAN, START, date(2026, 6, 1)) == 20 + round(60 * 61 / 122, 1)
    assert expected_percent(PLAN, START, date(2026, 12, 1)) == 100


def test_on_track_is_green():
    assert status(date(2026, 4, 10), 25, date(2026, 4, 5)) == ("green", [], expected_percent(PLAN, START, date(2026, 4, 10)))


def test_ten_points_behind_is_amber_thirty_is_red():
    day = date(2026, 6, 1)  # expects 50
    assert status(day, 40, date(2026, 5, 25))[0] == "amber"
    assert status(day, 41, date(2026, 5, 25))[0] == "green"
    assert status(day, 20, date(2026, 5, 25))[0] == "red"
    assert codes(status(day, 20, date(2026, 5, 25))) == ["behind"]


def test_thresholds_are_configurable():
    day = date(2026, 6, 1)
    assert status(day, 45, date(2026, 5, 25), thresholds=Thresholds(amber_points=5))[0] == "amber"


def test_stale_report_overdue_milestone_obstacle_and_late_plan_are_amber_reasons():
    result = status(date(2026, 8, 10), 75, date(2026, 7, 1), open_obstacles=1, plan_late=True)
    assert result[0] == "amber"
    assert codes(result) == ["stale", "milestones_overdue", "obstacles", "plan_late"]
    assert result[1][1]["milestones"] == ["施工"]


def test_no_plan_after_the_deadline_is_red():
    result = status(date(2026, 3, 15), None, None, milestones=[], plan_start=None)
    assert result[0] == "red" and codes(result) == ["no_plan"]


def test_finished_and_cancelled_projects():
    assert status(date(2026, 11, 1), 100, date(2026, 10, 1), lifecycle="accepted")[0] == "green"
    assert status(date(2026, 11, 1), 10, date(2026, 4, 1), lifecycle="cancelled")[0] == "grey"
