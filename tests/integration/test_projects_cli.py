"""The department-side `huimin report-progress` and `huimin import-*`, run as a user runs them."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from tests.integration.test_projects_commands import projects, seed  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "projects"


async def huimin(nats_url: str, *args: str) -> tuple[int, str]:
    """Run the `huimin` command in its own process; its exit code and output."""
    env = {**os.environ, "NATS_URL": nats_url}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "shared.cli", *args, cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, out.decode()


def result_of(output: str) -> dict:
    return json.loads(output[output.index("{"):])


async def test_report_progress_prints_the_result(projects, settings):
    await seed(projects)
    args = ["report-progress", "--dept", "jhczj", "--year", "2026", "--code", "01", "--as-of", "2026-04-30",
            "--percent", "25", "--milestone", "方案设计", "--funds", "300", "--problems", "资金拨付滞后",
            "--message-id", "czj-cli-1"]
    code, out = await huimin(settings.nats_url, *args)
    assert code == 0 and result_of(out)["status"] == "accepted", out
    code, out = await huimin(settings.nats_url, *args)
    assert code == 0 and result_of(out)["status"] == "duplicate", out
    code, out = await huimin(settings.nats_url, *[a if a != "jhczj" else "jhjyj" for a in args])
    assert code == 1 and result_of(out)["reasons"][0]["code"] == "not_responsible_unit", out
    detail = await projects.project_when("project-2026-01", lambda r: r["reports"])
    assert detail["reports"][0]["problems"] == "资金拨付滞后" and detail["reports"][0]["reported_by"] == "jhczj"


async def test_imports_from_the_command_line(projects, settings):
    await projects.ok("open_year", {"year": 2026, "session_start": "2026-01-17", "session_end": "2026-01-20"})
    code, out = await huimin(settings.nats_url, "import-departments", str(DATA / "departments.csv"))
    assert code == 0 and result_of(out)["created"] == 7, out
    code, out = await huimin(settings.nats_url, "import-projects", str(DATA / "vote_results_2026.xlsx"), "--year", "2026")
    assert code == 0 and result_of(out)["created"] == 3, out
    code, out = await huimin(settings.nats_url, "import-projects", str(DATA / "vote_results_bad_rows.csv"),
                             "--year", "2026")
    # Five bad rows, and its project 01 differs from the one the XLSX registered.
    assert code == 1 and result_of(out)["error"] == 6, "rows in error make the exit code 1"
