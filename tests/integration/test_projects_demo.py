"""The Jinghong 2026 demo year loads through the real paths (RPC and HUIMIN_INGEST), and loads again harmlessly."""

from __future__ import annotations

from shared.contracts.projects import YearCalendarAdjusted, YearOpened, year_stream_id
from shared.demo import projects as demo
from tests.conftest import eventually
from tests.integration.test_projects_commands import Projects, projects  # noqa: F401 (fixture)


async def test_the_demo_year_loads_once_and_again_changes_nothing(projects: Projects):
    first = await demo.load(projects.client)
    sent = sum(len(demo.progress_messages(p)) for p in demo.DEMO_PROJECTS)
    assert first["reports_accepted"] == sent and first["reports_rejected"] == 0 and first["reports_pending"] == 0
    assert first["existing"] == 0
    (opened, *later), _ = await projects.service.store.load_events(year_stream_id(2026))
    assert isinstance(opened, YearOpened) and opened.calendar.evaluation is not None, "opened with its evaluation window"
    assert (opened.calendar.evaluation.start, opened.calendar.evaluation.end) == demo.EVALUATION
    assert not any(isinstance(e, YearCalendarAdjusted) for e in later)

    async def all_listed():
        r = await projects.query("list", {"year": 2026})
        statuses = sorted(i["status"] for i in r["items"]) if r.get("ok") else []
        return r if statuses == ["accepted"] * 2 + ["completed"] + ["in_progress"] * 7 else None

    items = {i["code"]: i for i in (await eventually(all_listed))["items"]}
    assert {c: items[c]["status"] for c in ("02", "05", "08")} == {"02": "completed", "05": "accepted", "08": "accepted"}
    assert items["09"]["plan_late"] is True and items["01"]["plan_late"] is False
    assert items["04"]["open_obstacles"] == 1 and items["06"]["open_obstacles"] == 1 and items["02"]["open_obstacles"] == 0
    assert items["06"]["percent"] < 40 < items["07"]["percent"], "06 is the slow one"
    assert len({t for i in items.values() for t in i["townships"]}) >= 8, "projects across the city's townships"
    slow = (await projects.query("get", {"project_id": "project-2026-06"}))
    assert [r["correction"] for r in slow["reports"]].count(True) == 1
    assert slow["obstacles"][0]["kind_zh"] == "进展缓慢"
    revised = await projects.query("get", {"project_id": "project-2026-10"})
    assert [p["revision"] for p in revised["plans"]] == [1, 2]

    events_before = await projects.service.store.stats()
    again = await demo.load(projects.client)
    assert again["created"] == 0 and again["reports_accepted"] == 0 and again["reports_rejected"] == 0
    assert (await projects.service.store.stats())["events"] == events_before["events"]
