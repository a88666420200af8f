"""Answers of the group and department boards, from the supervision (sv_) and board (bd_) tables."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar

import asyncpg

from services.projection.supervision_query import OPEN_FEEDBACK, compliance, projects_on, today
from shared.contracts.projection import DepartmentBoard, GroupBoard
from shared.errors import NotFound

T = TypeVar("T")

KINDS = ("mobilisation", "inspection", "research", "contribution", "voter_visit", "department_visit", "summary")
ATTENDANCE = ("present", "absent", "excused")


async def on_day(conn: asyncpg.Connection, as_of: date | None,
                 answer: Callable[[asyncpg.Connection, date], Awaitable[T]], *views: str) -> T:
    """Answer from the live tables for today, or from these views rebuilt from the history up to a past day."""
    now = today()
    if as_of is None or as_of >= now:
        return await answer(conn, now)
    from services.projection.asof import as_of as rebuilt_as_of
    from services.projection.asof import models_named
    from services.projection.runner import LIVE_SCHEMA
    from services.projection.views import READ_MODELS
    from shared.contracts.base import registry

    return await rebuilt_as_of(conn, LIVE_SCHEMA, models_named(READ_MODELS, *views), registry, as_of,
                               lambda c: answer(c, as_of))


def rate(counts: Counter[str]) -> dict[str, Any]:
    """Attendance counts and the share present among those recorded (percent, one decimal)."""
    total = sum(counts[s] for s in ATTENDANCE)
    return {**{s: counts[s] for s in ATTENDANCE}, "total": total,
            "rate": round(100 * counts["present"] / total, 1) if total else None}


def project_item(r: dict[str, Any]) -> dict[str, Any]:
    """A project row as boards show it."""
    return {k: r[k] for k in ("project_id", "code", "title", "category", "lead_unit", "co_units", "status",
                              "reasons", "percent", "expected_percent", "lifecycle")} | {
        "compliance": compliance(r), "feedback": r["feedback"]}


def _counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    c = Counter(r["status"] for r in rows)
    return {s: c[s] for s in ("green", "amber", "red", "grey")}


async def group_board(conn: asyncpg.Connection, q: GroupBoard) -> dict[str, Any]:
    """Members, supervised projects with status, activities held by kind, phases held, attendance."""

    async def answer(c: asyncpg.Connection, day: date) -> dict[str, Any]:
        group = await c.fetchrow("SELECT * FROM bd_groups WHERE group_id = $1 AND year = $2", q.group_id, q.year)
        if group is None:
            raise NotFound(f"没有该代表小组 / no group {q.group_id} in {q.year}",
                           {"group_id": q.group_id, "year": q.year, "as_of": day})
        members = await c.fetch("""SELECT m.delegate_id, coalesce(n.name, m.delegate_id) AS name, m.leader
                                   FROM bd_members m LEFT JOIN sv_names n ON n.id = m.delegate_id
                                   WHERE m.group_id = $1 ORDER BY m.delegate_id""", q.group_id)
        supervised = [r["project_id"] for r in await c.fetch(
            "SELECT project_id FROM sv_assignment WHERE group_id = $1", q.group_id)]
        projects = await projects_on(c, day, year=q.year, project_ids=supervised)
        activities = await c.fetch("""SELECT kind, count(*) AS n FROM sv_activities WHERE NOT cancelled AND year = $2
                                      AND starts_on <= $3 AND group_ids @> ARRAY[$1::text] GROUP BY kind""",
                                   q.group_id, q.year, day)
        held = Counter({a["kind"]: a["n"] for a in activities})
        # Attendance of the members at the group's activities, counted in PostgreSQL.
        marks = await c.fetch("""SELECT t.delegate_id, t.status, count(*) AS n
                                 FROM bd_attendance t JOIN sv_activities a USING (activity_id)
                                 JOIN bd_members m ON m.delegate_id = t.delegate_id AND m.group_id = $1
                                 WHERE NOT a.cancelled AND a.year = $2 AND a.starts_on <= $3
                                   AND a.group_ids @> ARRAY[$1::text]
                                 GROUP BY 1, 2""", q.group_id, q.year, day)
        per: dict[str, Counter[str]] = {m["delegate_id"]: Counter() for m in members}
        overall: Counter[str] = Counter()
        for m in marks:
            per[m["delegate_id"]][m["status"]] += m["n"]
            overall[m["status"]] += m["n"]
        return {
            "group_id": q.group_id, "year": q.year, "as_of": day, "name": group["name"], "kind": group["kind"],
            "township": group["township"],
            "members": [dict(m) | {"attendance": rate(per[m["delegate_id"]])} for m in members],
            "projects": [project_item(r) for r in projects], "counts": _counts(projects),
            "activities_held": {k: held[k] for k in KINDS}, "activities_total": sum(held.values()),
            "phases": {"mobilisation": held["mobilisation"] > 0, "summary": held["summary"] > 0},
            "attendance": rate(overall),
        }

    return await on_day(conn, q.as_of, answer, "supervision", "board")


async def department_board(conn: asyncpg.Connection, q: DepartmentBoard) -> dict[str, Any]:
    """Projects as lead or co-unit with status, open feedback forwarded to it, its overdue answers."""

    async def answer(c: asyncpg.Connection, day: date) -> dict[str, Any]:
        name = await c.fetchval("SELECT name FROM bd_departments WHERE code = $1", q.dept_code)
        ids = [r["project_id"] for r in await c.fetch(
            "SELECT project_id FROM sv_projects WHERE year = $1 AND (lead_unit = $2 OR co_units @> ARRAY[$2::text])",
            q.year, q.dept_code)]
        rows = await projects_on(c, day, year=q.year, project_ids=ids)
        items = await c.fetch(
            """SELECT f.feedback_id, f.project_id, f.category, f.content, f.raised_on, f.forwarded_on, f.due_on,
                      d.role, d.answered, s.status
               FROM bd_feedback_depts d JOIN bd_feedback f USING (feedback_id) JOIN sv_feedback s USING (feedback_id)
               WHERE d.dept_code = $1 AND f.year = $2 ORDER BY f.due_on, f.feedback_id""", q.dept_code, q.year)
        if name is None and not rows and not items:
            raise NotFound(f"没有该部门 / no department {q.dept_code}", {"dept_code": q.dept_code})
        open_items = [dict(i) | {"overdue": not i["answered"] and i["due_on"] is not None and i["due_on"] < day}
                      for i in items if i["status"] in OPEN_FEEDBACK]
        return {
            "dept_code": q.dept_code, "name": name or q.dept_code, "year": q.year, "as_of": day,
            "projects": [project_item(r) | {"role": "lead" if r["lead_unit"] == q.dept_code else "co"} for r in rows],
            "counts": _counts(rows),
            "open_feedback": open_items,
            "overdue_answers": [i for i in open_items if i["overdue"]],
        }

    return await on_day(conn, q.as_of, answer, "supervision", "board")
