"""Answers of the supervision view and the city board, derived for a day from the sv_ tables."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from services.projection.schedule import PlannedMilestone, Thresholds, schedule_status
from shared.config import get_settings
from shared.contracts.projection import CityBoard, GetSupervision
from shared.contracts.projects import YearCalendar
from shared.errors import NotFound
from shared.timeutil import local_date

RATINGS = ("satisfied", "basically_satisfied", "unsatisfied")
OPEN_FEEDBACK = ("submitted", "forwarded", "received", "reopened")


def today() -> date:
    """Today in the city."""
    return local_date(datetime.now(UTC))


def thresholds() -> Thresholds:
    """Thresholds from configuration."""
    s = get_settings()
    return Thresholds(s.schedule_amber_points, s.schedule_red_points, s.stale_report_days)


def _rate(counts: Counter[str]) -> dict[str, Any]:
    total = sum(counts[r] for r in RATINGS)
    pleased = counts["satisfied"] + counts["basically_satisfied"]
    return {**{r: counts[r] for r in RATINGS}, "total": total,
            "rate": round(100 * pleased / total, 1) if total else None}


async def _years(conn: asyncpg.Connection) -> dict[int, YearCalendar]:
    return {r["year"]: YearCalendar.model_validate(r["calendar"]) for r in await conn.fetch("SELECT * FROM sv_years")}


async def projects_on(conn: asyncpg.Connection, day: date, *, year: int | None = None,
                      project_id: str | None = None) -> list[dict[str, Any]]:
    """Status rows of the chosen projects on `day` (one query per table, then pure derivation)."""
    where, args = ("year = $1", [year]) if year is not None else ("project_id = $1", [project_id])
    projects = await conn.fetch(f"SELECT * FROM sv_projects WHERE {where} ORDER BY code", *args)
    if not projects:
        return []
    ids = [p["project_id"] for p in projects]
    calendars = await _years(conn)
    obstacles = await conn.fetch("SELECT * FROM sv_obstacles WHERE project_id = ANY($1) AND reported_on <= $2",
                                 ids, day)
    activities = await conn.fetch(
        "SELECT * FROM sv_activities WHERE NOT cancelled AND starts_on <= $2 AND project_ids && $1::text[]", ids, day)
    points = await conn.fetch("SELECT * FROM sv_contact_points WHERE project_id = ANY($1) AND established_on <= $2",
                              ids, day)
    feedback = await conn.fetch("SELECT * FROM sv_feedback WHERE project_id = ANY($1)", ids)
    votes = await conn.fetch("SELECT project_id, rating FROM sv_evaluation WHERE project_id = ANY($1)", ids)
    rows = []
    for p in projects:
        pid = p["project_id"]
        calendar = calendars.get(p["year"])
        milestones = [PlannedMilestone(m["name"], date.fromisoformat(m["due"]), m["weight"], m["name"] in p["done"])
                      for m in p["milestones"]]
        open_obstacles = [dict(o) for o in obstacles if o["project_id"] == pid and o["resolved_on"] is None]
        status, reasons, expected = schedule_status(
            day=day, lifecycle=p["lifecycle"], milestones=milestones, plan_start=p["plan_start"],
            plan_deadline=calendar.plan_deadline if calendar else None, plan_late=p["plan_late"],
            percent=p["percent"], last_report_on=p["last_report_on"], open_obstacles=len(open_obstacles),
            thresholds=thresholds())
        held = Counter(a["kind"] for a in activities if pid in a["project_ids"])
        items = [f for f in feedback if f["project_id"] == pid]
        rows.append({
            "project_id": pid, "year": p["year"], "code": p["code"], "title": p["title"], "category": p["category"],
            "lead_unit": p["lead_unit"], "co_units": p["co_units"], "townships": p["townships"],
            "phase": calendar.phase_of(day) if calendar else None, "lifecycle": p["lifecycle"],
            "status": status, "reasons": reasons, "percent": p["percent"], "expected_percent": expected,
            "last_report_on": p["last_report_on"], "plan_late": p["plan_late"],
            "target_completion": p["target_completion"],
            "milestones": [{"name": m.name, "due": m.due, "weight": m.weight, "done": m.done,
                            "overdue": not m.done and m.due < day} for m in milestones],
            "obstacles_open": open_obstacles,
            "four_ones": {
                "contact_points": sum(1 for c in points if c["project_id"] == pid),
                "inspections": held["inspection"], "research": held["research"],
                "contributions": held["contribution"],
            },
            "feedback": {
                "open": sum(1 for f in items if f["status"] in OPEN_FEEDBACK),
                "overdue": sum(1 for f in items if f["status"] in OPEN_FEEDBACK and f["status"] != "submitted"
                               and f["due_on"] is not None and f["due_on"] < day),
                "answered": sum(1 for f in items if f["status"] in ("answered", "closed")),
                "satisfaction": _rate(Counter(f["rating"] for f in items if f["rating"])),
            },
            "evaluation": _rate(Counter(v["rating"] for v in votes if v["project_id"] == pid)),
        })
    return rows


def compliance(row: dict[str, Any]) -> dict[str, Any]:
    """How many of the "four ones" a project has met."""
    four = row["four_ones"]
    met = [four["contact_points"] > 0, four["inspections"] > 0, four["research"] > 0, four["contributions"] > 0]
    return {"met": sum(met), "of": 4}


async def _assignment(conn: asyncpg.Connection, row: dict[str, Any], day: date) -> dict[str, Any]:
    pid = row["project_id"]
    a = await conn.fetchrow("SELECT * FROM sv_assignment WHERE project_id = $1", pid)
    names = {r["id"]: r["name"] for r in await conn.fetch("SELECT id, name FROM sv_names")}

    def named(id_: str | None) -> dict[str, Any] | None:
        return {"id": id_, "name": names.get(id_, id_)} if id_ else None

    duty = await conn.fetch("SELECT delegate_id FROM sv_contact_duty WHERE project_id = $1 ORDER BY 1", pid)
    points = await conn.fetch("""SELECT contact_point_id, place, established_on FROM sv_contact_points
                                 WHERE project_id = $1 AND established_on <= $2 ORDER BY 1""", pid, day)
    group_id = a["group_id"] if a else None
    group_kinds = {r["kind"] for r in await conn.fetch(
        """SELECT kind FROM sv_activities WHERE NOT cancelled AND starts_on <= $2 AND $1 = ANY(group_ids)
           AND year = $3""", group_id, day, row["year"])} if group_id else set()
    return {
        "leader": named(a["leader_id"]) if a else None, "committee": named(a["committee_id"]) if a else None,
        "group": named(group_id), "contact_delegates": [named(r["delegate_id"]) for r in duty],
        "contact_points": [dict(p) for p in points],
        "group_phases": {"mobilisation": "mobilisation" in group_kinds, "summary": "summary" in group_kinds},
    }


async def _on_day(conn: asyncpg.Connection, as_of: date | None, answer: Any) -> Any:
    """Answer from the live tables for today, or from the history up to a past day."""
    now = today()
    if as_of is None or as_of >= now:
        return await answer(conn, now)
    from services.projection.asof import as_of as rebuilt_as_of
    from services.projection.asof import models_named
    from services.projection.runner import LIVE_SCHEMA
    from services.projection.views import READ_MODELS
    from shared.contracts.base import registry

    return await rebuilt_as_of(conn, LIVE_SCHEMA, models_named(READ_MODELS, "supervision"), registry, as_of,
                               lambda c: answer(c, as_of))


async def get_supervision(conn: asyncpg.Connection, q: GetSupervision) -> dict[str, Any]:
    """The supervision view of one project on a day."""

    async def answer(c: asyncpg.Connection, day: date) -> dict[str, Any]:
        rows = await projects_on(c, day, project_id=q.project_id)
        if not rows:
            raise NotFound(f"没有该项目 / no project {q.project_id}", {"project_id": q.project_id, "as_of": day})
        row = rows[0]
        return {**row, "as_of": day, "compliance": compliance(row), "assignment": await _assignment(c, row, day)}

    return await _on_day(conn, q.as_of, answer)


async def city_board(conn: asyncpg.Connection, q: CityBoard) -> dict[str, Any]:
    """Every project of the year with status, percent and phase compliance; counts by status."""

    async def answer(c: asyncpg.Connection, day: date) -> dict[str, Any]:
        rows = await projects_on(c, day, year=q.year)
        counts = Counter(r["status"] for r in rows)
        chosen = [r for r in rows
                  if (q.status is None or r["status"] == q.status)
                  and (q.township is None or q.township in r["townships"])
                  and (q.category is None or r["category"] == q.category)
                  and (q.lead_unit is None or r["lead_unit"] == q.lead_unit)]
        items = [{k: r[k] for k in ("project_id", "code", "title", "category", "lead_unit", "townships", "phase",
                                    "lifecycle", "status", "reasons", "percent", "expected_percent",
                                    "last_report_on")} | {"compliance": compliance(r), "feedback": r["feedback"]}
                 for r in chosen]
        return {"year": q.year, "as_of": day, "counts": {s: counts[s] for s in ("green", "amber", "red", "grey")},
                "total": len(rows), "items": items}

    return await _on_day(conn, q.as_of, answer)
