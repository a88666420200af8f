"""Briefings: given events -> the period's activities, progress, projects turning red, feedback, attendance."""

from __future__ import annotations

from datetime import date

import pytest

from services.projection.views.briefing import generate_briefing
from shared.contracts.projection import GenerateBriefing
from tests.integration.test_view_board import board_history
from tests.integration.views import apply, views  # noqa: F401 (fixture)


@pytest.fixture
async def built(views):
    await apply(views, board_history())
    return views


async def ask(runner, **query):
    async with runner.pool.acquire() as conn:
        return await generate_briefing(conn, GenerateBriefing(year=2026, **query))


async def test_custom_period_briefing(built):
    b = await ask(built, start=date(2026, 5, 1), end=date(2026, 6, 30))
    assert [(a["activity_id"], a["kind"]) for a in b["activities"]] == [("a1", "inspection")]
    assert b["activities_by_kind"]["inspection"] == 1
    assert [(p["project_id"], p["before"], p["after"]) for p in b["progress"]] == [("project-2026-01", 22, 30)]
    assert [(t["project_id"], t["from"], t["to"]) for t in b["turned"]] == [("project-2026-01", "amber", "red")]
    assert [f["feedback_id"] for f in b["feedback_new"]] == ["f1", "f2"]
    assert [(f["feedback_id"], f["departments"]) for f in b["feedback_overdue"]] == [("f1", ["jhzjj"]),
                                                                                  ("f2", ["jhjyj"])]
    assert b["attendance"] == {"present": 1, "absent": 0, "excused": 1, "total": 2, "rate": 50.0}
    assert "2026-05-01 至 2026-06-30" in b["markdown"] and "| 01 | 项目01 | 22% | 30% |" in b["markdown"]
    assert "<td>夜间施工扰民</td>" in b["html"]


async def test_each_section_lists_at_most_the_limit_and_counts_everything(built):
    whole = await ask(built, start=date(2026, 5, 1), end=date(2026, 6, 30))
    cut = await ask(built, start=date(2026, 5, 1), end=date(2026, 6, 30), limit=1)
    assert cut["feedback_new"] == whole["feedback_new"][:1] and cut["feedback_overdue"] == whole["feedback_overdue"][:1]
    assert cut["totals"] == whole["totals"] == {"activities": 1, "progress": 1, "turned": 1, "feedback_new": 2,
                                                "feedback_overdue": 2}
    assert cut["attendance"] == whole["attendance"] and cut["activities_by_kind"] == whole["activities_by_kind"]
    assert "本期新收到意见建议 2 件，逾期未办复 2 件。" in cut["markdown"]
    assert "（下表列出其中 2 项，全部见相关台账。）" in cut["markdown"], "says the table shows only some"
    assert "下表列出其中" not in whole["markdown"]


async def test_month_briefing(built):
    b = await ask(built, period="month", day=date(2026, 3, 14))
    assert (b["start"], b["end"]) == (date(2026, 3, 1), date(2026, 3, 31))
    assert [a["activity_id"] for a in b["activities"]] == ["a2"]
    assert b["progress"] == [] and b["feedback_new"] == [] and b["feedback_overdue"] == []
    assert b["attendance"]["present"] == 1
    assert "动员会 1 次" in b["markdown"]


async def test_redelivery_changes_nothing(views):
    events = board_history()
    await apply(views, events)
    once = await ask(views, start=date(2026, 5, 1), end=date(2026, 6, 30))
    await apply(views, events + events[::-1], batch=4)
    assert await ask(views, start=date(2026, 5, 1), end=date(2026, 6, 30)) == once
