"""Briefings (简报) for a period: activities held, progress changes, projects turning amber or red,
new and overdue feedback, attendance; rendered in Chinese as Markdown and HTML.

Only progress reports need a table of their own (br_reports: every report, not just the latest);
the rest is read from the supervision (sv_) and board (bd_) tables.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import asyncpg

from services.projection.board_query import KINDS, on_day, rate
from services.projection.briefing import period_of, to_html, to_markdown
from services.projection.supervision_query import projects_on, today
from shared.contracts import projects as prj
from shared.contracts.base import EventEnvelope
from shared.contracts.projection import GenerateBriefing
from shared.readmodel import ReadModel

VIEW = "briefing"

model = ReadModel(
    name="briefing",
    ddl="""
    CREATE TABLE br_reports (event_id uuid PRIMARY KEY, project_id text NOT NULL, as_of date NOT NULL,
                             percent double precision NOT NULL);
    """,
)

RANK = {"grey": -1, "green": 0, "amber": 1, "red": 2}


@model.on(prj.ProgressReported)
async def progress_reported(conn: asyncpg.Connection, env: EventEnvelope, e: prj.ProgressReported) -> None:
    """Every report, so a period's change (before -> after) can be told."""
    await conn.execute("INSERT INTO br_reports (event_id, project_id, as_of, percent) VALUES ($1, $2, $3, $4)",
                       env.event_id, e.project_id, e.as_of, e.percent)


async def _statuses(conn: asyncpg.Connection, year: int, day: date) -> dict[str, dict[str, Any]]:
    async def answer(c: asyncpg.Connection, d: date) -> dict[str, dict[str, Any]]:
        return {r["project_id"]: r for r in await projects_on(c, d, year=year)}

    return await on_day(conn, day, answer, "supervision")


async def _progress(conn: asyncpg.Connection, year: int, start: date, end: date) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT p.project_id, p.code, p.title,
                  (SELECT percent FROM br_reports r WHERE r.project_id = p.project_id AND r.as_of < $2
                   ORDER BY r.as_of DESC, r.percent DESC LIMIT 1) AS before,
                  (SELECT percent FROM br_reports r WHERE r.project_id = p.project_id AND r.as_of <= $3
                   ORDER BY r.as_of DESC, r.percent DESC LIMIT 1) AS after
           FROM sv_projects p
           WHERE p.year = $1 AND EXISTS (SELECT 1 FROM br_reports r WHERE r.project_id = p.project_id
                                         AND r.as_of BETWEEN $2 AND $3)
           ORDER BY p.code""", year, start, end)
    return [dict(r) for r in rows]


async def _feedback(conn: asyncpg.Connection, year: int, start: date, end: date,
                    now: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    new = await conn.fetch("""SELECT feedback_id, category, content, raised_on FROM bd_feedback
                              WHERE year = $1 AND raised_on BETWEEN $2 AND $3 ORDER BY raised_on, feedback_id""",
                           year, start, end)
    # Due within the period (and already past) with no answer from the main department by the due date.
    overdue = await conn.fetch(
        """SELECT f.feedback_id, f.category, f.content, f.due_on,
                  ARRAY(SELECT d.dept_code FROM bd_feedback_depts d WHERE d.feedback_id = f.feedback_id
                        AND d.role = 'main') AS departments
           FROM bd_feedback f
           WHERE f.year = $1 AND f.due_on BETWEEN $2 AND $3 AND f.due_on < $4
             AND (f.answered_on IS NULL OR f.answered_on > f.due_on)
           ORDER BY f.due_on, f.feedback_id""", year, start, end, now)
    return [dict(r) for r in new], [dict(r) for r in overdue]


async def generate_briefing(conn: asyncpg.Connection, q: GenerateBriefing) -> dict[str, Any]:
    """The briefing of a period, as data, Markdown and HTML."""
    start, end = period_of(q.year, q.start, q.end, q.period, q.day)
    now = today()
    activities = await conn.fetch(
        """SELECT activity_id, kind, title, starts_on FROM sv_activities
           WHERE NOT cancelled AND year = $1 AND starts_on BETWEEN $2 AND $3 AND starts_on <= $4
           ORDER BY starts_on, activity_id""", q.year, start, end, now)
    marks = await conn.fetch("SELECT status FROM bd_attendance WHERE activity_id = ANY($1::text[])",
                             [a["activity_id"] for a in activities])
    before = await _statuses(conn, q.year, start - timedelta(days=1))
    after = await _statuses(conn, q.year, end)
    turned = [{"project_id": pid, "code": r["code"], "title": r["title"],
               "from": before[pid]["status"] if pid in before else "green", "to": r["status"],
               "reasons": [x["text"] for x in r["reasons"]]}
              for pid, r in after.items()
              if r["status"] in ("amber", "red")
              and RANK[r["status"]] > RANK[before.get(pid, {}).get("status", "green")]]
    new, overdue = await _feedback(conn, q.year, start, end, now)
    held = Counter(a["kind"] for a in activities)
    data = {
        "year": q.year, "start": start, "end": end,
        "activities": [dict(a) for a in activities], "activities_by_kind": {k: held[k] for k in KINDS},
        "progress": await _progress(conn, q.year, start, end), "turned": turned,
        "feedback_new": new, "feedback_overdue": overdue,
        "attendance": rate(Counter(m["status"] for m in marks)),
    }
    return {**data, "markdown": to_markdown(data), "html": to_html(data)}


QUERIES = {GenerateBriefing: generate_briefing}
