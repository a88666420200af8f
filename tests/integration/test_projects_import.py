"""Bulk imports over NATS: departments and vote results from CSV/XLSX, per-row report, re-import changes nothing."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from tests.integration.test_projects_commands import Projects, projects  # noqa: F401 (fixture)

DATA = Path(__file__).resolve().parents[1] / "data" / "projects"


def file_payload(name: str, **extra: Any) -> dict[str, Any]:
    return {"file_name": name, "content_base64": base64.b64encode((DATA / name).read_bytes()).decode(), **extra}


async def prepare(p: Projects) -> None:
    await p.ok("open_year", {"year": 2026, "session_start": "2026-01-17", "session_end": "2026-01-20"})
    report = await p.ok("import_departments", file_payload("departments.csv"))
    assert (report["created"], report["unchanged"], report["error"]) == (7, 0, 0)


async def test_vote_results_import_and_reimport_in_either_format(projects):
    await prepare(projects)
    first = await projects.ok("import_voted_projects", file_payload("vote_results_2026.csv", year=2026))
    assert [(r["row"], r["status"], r["id"]) for r in first["rows"]] == [
        (2, "created", "project-2026-01"), (3, "created", "project-2026-02"), (4, "created", "project-2026-03")]
    events = (await projects.service.store.stats())["events"]
    again = await projects.ok("import_voted_projects", file_payload("vote_results_2026.csv", year=2026))
    as_xlsx = await projects.ok("import_voted_projects", file_payload("vote_results_2026.xlsx", year=2026))
    assert [r["status"] for r in again["rows"] + as_xlsx["rows"]] == ["unchanged"] * 6
    assert (await projects.service.store.stats())["events"] == events, "re-importing changes nothing"
    departments_again = await projects.ok("import_departments", file_payload("departments.csv"))
    assert departments_again["unchanged"] == 7
    stored = await projects.service.store.load("project-2026-01")
    assert stored[0].body["co_units"] == ["jhczj", "jhyjh"] and stored[0].actor == "office:test"


async def test_bad_rows_are_reported_and_good_rows_go_in(projects):
    await prepare(projects)
    report = await projects.ok("import_voted_projects", file_payload("vote_results_bad_rows.csv", year=2026))
    outcome = {r["row"]: (r["status"], [x["code"] for x in r.get("reasons", [])]) for r in report["rows"]}
    assert outcome == {
        2: ("created", []),
        3: ("error", ["not_a_number"]),
        4: ("error", ["unknown_department"]),
        5: ("error", ["not_adopted"]),
        6: ("error", ["coordinates_count"]),
        8: ("created", []),
        9: ("error", ["exists_with_other_content"]),
    }
    assert (report["created"], report["unchanged"], report["error"]) == (2, 0, 5)
    assert all(x["message"] for r in report["rows"] for x in r.get("reasons", []))


async def test_a_file_level_problem_refuses_the_whole_file(projects):
    no_year = await projects.command("import_voted_projects", file_payload("vote_results_2026.csv", year=2026))
    assert no_year["error"]["details"][0]["code"] == "year_not_open"
    await prepare(projects)
    wrong = await projects.command("import_voted_projects", file_payload("departments.csv", year=2026))
    assert wrong["error"]["code"] == "validation" and wrong["error"]["details"][0]["code"] == "missing_column"
    junk = await projects.command("import_voted_projects", {"file_name": "x.csv", "content_base64": "!!", "year": 2026})
    assert junk["error"]["details"][0]["code"] == "bad_base64"
    assert (await projects.service.store.stats())["events"] == 8, "only the year and the departments"
