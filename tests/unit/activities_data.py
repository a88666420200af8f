"""Shared givens of the activities unit tests: a 2026 calendar, projects, groups, delegates."""

from __future__ import annotations

from datetime import date, datetime

from services.activities.activity import activity_decider
from services.activities.contact_point import contact_point_decider
from services.activities.references import DelegateRef, GroupRef, ProjectRef, References
from shared.contracts.activities import ActivityScheduled, DelegatesInvited, ScheduleActivity
from shared.contracts.projects import PhaseWindow, YearCalendar
from shared.timeutil import CITY_TZ

SECRET = b"test-secret"
CALENDAR = YearCalendar(
    session_start=date(2026, 1, 16), session_end=date(2026, 1, 20), plan_deadline=date(2026, 2, 20),
    mobilisation=PhaseWindow(start=date(2026, 2, 1), end=date(2026, 3, 31)),
    supervision=PhaseWindow(start=date(2026, 4, 1), end=date(2026, 11, 30)),
    summary=PhaseWindow(start=date(2026, 12, 1), end=date(2026, 12, 31)),
)
P1, P2, OLD_PROJECT, CANCELLED = "project-2026-01", "project-2026-02", "project-2025-01", "project-2026-09"
REFS = References(
    calendars={2026: CALENDAR, 2025: CALENDAR},
    closed_years=frozenset({2025}),
    projects={
        P1: ProjectRef(P1, 2026), P2: ProjectRef(P2, 2026), OLD_PROJECT: ProjectRef(OLD_PROJECT, 2025),
        CANCELLED: ProjectRef(CANCELLED, 2026, cancelled_on=date(2026, 5, 1)),
    },
    groups={
        "g1": GroupRef("g1", 2026, "允景洪街道代表小组", ("d1", "d2", "d3", "d9")),
        "g2": GroupRef("g2", 2026, "嘎洒镇代表小组", ("d4",)),
        "g-old": GroupRef("g-old", 2025, "2025 小组", ("d1",)),
    },
    delegates={
        "d1": DelegateRef("d1", "岩温", date(2022, 1, 1)),
        "d2": DelegateRef("d2", "玉香", date(2022, 1, 1)),
        "d3": DelegateRef("d3", "李明", date(2022, 1, 1)),
        "d4": DelegateRef("d4", "张华", date(2022, 1, 1)),
        "d9": DelegateRef("d9", "王离", date(2022, 1, 1), ended_on=date(2026, 3, 1)),
    },
)
ACTIVITIES = activity_decider(REFS, SECRET)
CONTACT_POINTS = contact_point_decider(REFS)


def local(*args: int) -> datetime:
    """An aware datetime in the city's zone."""
    return datetime(*args, tzinfo=CITY_TZ)  # type: ignore[misc]


STARTS, ENDS = local(2026, 5, 20, 9, 0), local(2026, 5, 20, 12, 0)
SCHEDULE = ScheduleActivity(
    activity_id="insp-1", year=2026, kind="inspection", title="视察老旧小区改造", project_ids=[P1], group_ids=["g1"],
    organiser="岩温", starts_at=STARTS, ends_at=ENDS, place="曼听社区",
)
SCHEDULED = ActivityScheduled(
    activity_id="insp-1", year=2026, kind="inspection", title="视察老旧小区改造", project_ids=[P1], group_ids=["g1"],
    organiser="岩温", starts_at=STARTS, ends_at=ENDS, place="曼听社区", phase="supervision",
)
INVITED = DelegatesInvited(activity_id="insp-1", delegate_ids=["d1", "d2", "d3"], group_ids=["g1"],
                           skipped_inactive=["d9"])


def scheduled(**changes: object) -> ActivityScheduled:
    """The scheduled inspection with some fields changed."""
    return SCHEDULED.model_copy(update=changes)
