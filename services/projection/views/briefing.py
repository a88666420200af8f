"""Briefings (简报) for a period: activities held, progress changes, projects turning amber or red,
new and overdue feedback, attendance; rendered in Chinese as Markdown and HTML.

The briefing keeps what a project's schedule status depends on as history of its own (br_ tables):
every progress report, plan, lifecycle change, obstacle and year calendar, each with `seen_on`, the
first day an as-of answer counts it. So "turned amber/red" needs no replay of the history
(services/projection/asof.py): the statuses of a year's projects on any day are a few set-based
statements plus the pure schedule rules. The rest is read from the supervision (sv_) and board (bd_)
tables.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import asyncpg

from services.projection.board_query import KINDS, rate
from services.projection.briefing import period_of, to_html, to_markdown
from services.projection.schedule import PlannedMilestone, schedule_status
from services.projection.supervision_query import thresholds, today
from shared.contracts import projects as prj
from shared.contracts.base import EventEnvelope
from shared.contracts.projection import GenerateBriefing
from shared.readmodel import ReadModel
from shared.timeutil import CITY_TZ

VIEW = "briefing"

model = ReadModel(
    name="briefing",
    ddl="""
    -- Per project or year stream, the latest business time among its events so far. An as-of answer
    -- takes each stream's events up to the first one that happened after the day (a prefix), so an
    -- event counts from the city date of this running maximum on: its row's `seen_on`.
    CREATE TABLE br_streams (stream_id text PRIMARY KEY, seen_at timestamptz NOT NULL);
    CREATE TABLE br_projects (project_id text PRIMARY KEY, year integer NOT NULL, code text NOT NULL,
                              title text NOT NULL, seen_on date NOT NULL);
    -- Every report, so a period's change (before -> after) and the latest report on a day can be told.
    CREATE TABLE br_reports (event_id uuid PRIMARY KEY, project_id text NOT NULL, as_of date NOT NULL,
                             percent double precision NOT NULL, milestones_completed text[] NOT NULL,
                             version integer NOT NULL, seen_on date NOT NULL);
    -- Plans submitted (plan_start, plan_late set) and revised (milestones only).
    CREATE TABLE br_plans (project_id text NOT NULL, version integer NOT NULL, seen_on date NOT NULL,
                           milestones jsonb NOT NULL, plan_start date, plan_late boolean,
                           PRIMARY KEY (project_id, version));
    CREATE TABLE br_lifecycle (project_id text NOT NULL, version integer NOT NULL, seen_on date NOT NULL,
                               lifecycle text NOT NULL, PRIMARY KEY (project_id, version));
    CREATE TABLE br_obstacles (project_id text NOT NULL, obstacle_id text NOT NULL, reported_on date NOT NULL,
                               seen_on date NOT NULL, resolved_seen_on date, PRIMARY KEY (project_id, obstacle_id));
    CREATE TABLE br_calendars (year integer NOT NULL, version integer NOT NULL, seen_on date NOT NULL,
                               calendar jsonb NOT NULL, PRIMARY KEY (year, version));
    CREATE INDEX br_projects_year ON br_projects (year, code);
    CREATE INDEX br_reports_project ON br_reports (project_id, as_of);
    -- A past day reads only the reports counted by then: without it, each project's later reports
    -- (hundreds under a department's steady input) are read and filtered out, twice per briefing.
    CREATE INDEX br_reports_seen ON br_reports (project_id, seen_on);
    """,
)

RANK = {"grey": -1, "green": 0, "amber": 1, "red": 2}

# The statement prefix every history applier starts with: it moves its stream's running maximum of
# business time ($1 stream, $2 occurred_at) and hands `seen_on` (that maximum's city date) to the
# row it writes: `SELECT ... FROM seen`. One statement, so the pipeline keeps it in stream order.
_SEEN = f"""WITH seen AS (
    INSERT INTO br_streams (stream_id, seen_at) VALUES ($1, $2)
    ON CONFLICT (stream_id) DO UPDATE SET seen_at = greatest(br_streams.seen_at, excluded.seen_at)
    RETURNING (seen_at AT TIME ZONE '{CITY_TZ.key}')::date AS seen_on)
"""


@model.on(prj.ProjectVoted)
async def project_voted(conn: asyncpg.Connection, env: EventEnvelope, e: prj.ProjectVoted) -> None:
    """A project of the year, counted from its vote on."""
    await conn.execute(_SEEN + """INSERT INTO br_projects (project_id, year, code, title, seen_on)
                                  SELECT $3, $4, $5, $6, seen_on FROM seen""",
                       env.stream_id, env.occurred_at, e.project_id, e.year, e.code, e.title)


@model.on(prj.ProgressReported)
async def progress_reported(conn: asyncpg.Connection, env: EventEnvelope, e: prj.ProgressReported) -> None:
    """Every report: its date, percent and the milestones it marks done."""
    await conn.execute(
        _SEEN + """INSERT INTO br_reports (event_id, project_id, as_of, percent, milestones_completed, version, seen_on)
                   SELECT $3, $4, $5, $6, $7, $8, seen_on FROM seen""",
        env.stream_id, env.occurred_at, env.event_id, e.project_id, e.as_of, e.percent, e.milestones_completed,
        env.version)


async def _plan(conn: asyncpg.Connection, env: EventEnvelope, e: Any, start: date | None, late: bool | None) -> None:
    await conn.execute(
        _SEEN + """INSERT INTO br_plans (project_id, version, seen_on, milestones, plan_start, plan_late)
                   SELECT $3, $4, seen_on, $5, $6, $7 FROM seen""",
        env.stream_id, env.occurred_at, e.project_id, env.version, [m.model_dump(mode="json") for m in e.milestones],
        start, late)


@model.on(prj.PlanSubmitted)
async def plan_submitted(conn: asyncpg.Connection, env: EventEnvelope, e: prj.PlanSubmitted) -> None:
    """The plan: milestones, its start (the submission date) and whether it came late."""
    await _plan(conn, env, e, e.submitted_on, e.late)


@model.on(prj.PlanRevised)
async def plan_revised(conn: asyncpg.Connection, env: EventEnvelope, e: prj.PlanRevised) -> None:
    """A revision replaces the milestones; start and lateness stay those of the submission."""
    await _plan(conn, env, e, None, None)


async def _lifecycle(conn: asyncpg.Connection, env: EventEnvelope, e: Any, lifecycle: str) -> None:
    await conn.execute(_SEEN + """INSERT INTO br_lifecycle (project_id, version, seen_on, lifecycle)
                                  SELECT $3, $4, seen_on, $5 FROM seen""",
                       env.stream_id, env.occurred_at, e.project_id, env.version, lifecycle)


@model.on(prj.ProjectCompleted)
async def completed(conn: asyncpg.Connection, env: EventEnvelope, e: prj.ProjectCompleted) -> None:
    """Works finished."""
    await _lifecycle(conn, env, e, "completed")


@model.on(prj.ProjectAccepted)
async def accepted(conn: asyncpg.Connection, env: EventEnvelope, e: prj.ProjectAccepted) -> None:
    """Acceptance passed."""
    await _lifecycle(conn, env, e, "accepted")


@model.on(prj.ProjectCancelled)
async def cancelled(conn: asyncpg.Connection, env: EventEnvelope, e: prj.ProjectCancelled) -> None:
    """Cancelled (greyed)."""
    await _lifecycle(conn, env, e, "cancelled")


@model.on(prj.ObstacleReported)
async def obstacle_reported(conn: asyncpg.Connection, env: EventEnvelope, e: prj.ObstacleReported) -> None:
    """An obstacle, open from when it was reported."""
    await conn.execute(_SEEN + """INSERT INTO br_obstacles (project_id, obstacle_id, reported_on, seen_on)
                                  SELECT $3, $4, $5, seen_on FROM seen ON CONFLICT DO NOTHING""",
                       env.stream_id, env.occurred_at, e.project_id, e.obstacle_id, e.reported_on)


@model.on(prj.ObstacleResolved)
async def obstacle_resolved(conn: asyncpg.Connection, env: EventEnvelope, e: prj.ObstacleResolved) -> None:
    """Closed from the day the resolution counts (the supervision view keeps no date but that it happened)."""
    await conn.execute(_SEEN + """UPDATE br_obstacles o SET resolved_seen_on = coalesce(o.resolved_seen_on, seen.seen_on)
                                  FROM seen WHERE o.project_id = $3 AND o.obstacle_id = $4""",
                       env.stream_id, env.occurred_at, e.project_id, e.obstacle_id)


@model.on(prj.YearOpened)
@model.on(prj.YearCalendarAdjusted)
async def year_calendar(conn: asyncpg.Connection, env: EventEnvelope, e: Any) -> None:
    """The calendar (its plan deadline turns a project without a plan red)."""
    await conn.execute(_SEEN + """INSERT INTO br_calendars (year, version, seen_on, calendar)
                                  SELECT $3, $4, seen_on, $5 FROM seen""",
                       env.stream_id, env.occurred_at, e.year, env.version, e.calendar.model_dump(mode="json"))


@model.on(prj.YearClosed)
async def year_closed(conn: asyncpg.Connection, env: EventEnvelope, e: prj.YearClosed) -> None:
    """Changes nothing the status uses, but its time moves the year stream's prefix."""
    await conn.execute(_SEEN + "SELECT 1 FROM seen", env.stream_id, env.occurred_at)


# The numbers schedule_status needs, per project of year $1 that had been voted by day $2 (only events
# counted by then, see br_streams), with obstacles open on the status day $3.
_STATUS_INPUTS = """
SELECT p.project_id, p.code, p.title, coalesce(l.lifecycle, 'active') AS lifecycle,
       coalesce(pl.milestones, '[]') AS milestones, ps.plan_start, coalesce(ps.plan_late, false) AS plan_late,
       r.percent, r.as_of AS last_report_on, coalesce(d.done, '{}') AS done, o.open_obstacles
FROM br_projects p
LEFT JOIN LATERAL (SELECT lifecycle FROM br_lifecycle WHERE project_id = p.project_id AND seen_on <= $2
                   ORDER BY version DESC LIMIT 1) l ON true
LEFT JOIN LATERAL (SELECT milestones FROM br_plans WHERE project_id = p.project_id AND seen_on <= $2
                   ORDER BY version DESC LIMIT 1) pl ON true
LEFT JOIN LATERAL (SELECT plan_start, plan_late FROM br_plans WHERE project_id = p.project_id AND seen_on <= $2
                   AND plan_late IS NOT NULL ORDER BY version DESC LIMIT 1) ps ON true
-- The supervision view keeps the percent of the latest report by date (the later one of a date).
LEFT JOIN LATERAL (SELECT percent, as_of FROM br_reports WHERE project_id = p.project_id AND seen_on <= $2
                   ORDER BY as_of DESC, version DESC LIMIT 1) r ON true
LEFT JOIN LATERAL (SELECT array_agg(DISTINCT m) AS done FROM br_reports, unnest(milestones_completed) m
                   WHERE project_id = p.project_id AND seen_on <= $2) d ON true
LEFT JOIN LATERAL (SELECT count(*)::int AS open_obstacles FROM br_obstacles
                   WHERE project_id = p.project_id AND seen_on <= $2 AND reported_on <= $3
                     AND (resolved_seen_on IS NULL OR resolved_seen_on > $2)) o ON true
WHERE p.year = $1 AND p.seen_on <= $2
ORDER BY p.code
"""


async def statuses_on(conn: asyncpg.Connection, year: int, day: date) -> dict[str, dict[str, Any]]:
    """Status and reasons of each project of `year` as the supervision view told them on `day`.

    A past day counts the events that had happened by its end (as asof.py does); today or later is
    today with every event, as the live supervision view answers.
    """
    now = today()
    status_day, counted_by = (day, day) if day < now else (now, date.max)
    rows = await conn.fetch(_STATUS_INPUTS, year, counted_by, status_day)
    calendar = await conn.fetchval(
        "SELECT calendar FROM br_calendars WHERE year = $1 AND seen_on <= $2 ORDER BY version DESC LIMIT 1",
        year, counted_by)
    deadline = prj.YearCalendar.model_validate(calendar).plan_deadline if calendar else None
    limits = thresholds()
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        milestones = [PlannedMilestone(m["name"], date.fromisoformat(m["due"]), m["weight"], m["name"] in r["done"])
                      for m in r["milestones"]]
        status, reasons, _ = schedule_status(
            day=status_day, lifecycle=r["lifecycle"], milestones=milestones, plan_start=r["plan_start"],
            plan_deadline=deadline, plan_late=r["plan_late"], percent=r["percent"],
            last_report_on=r["last_report_on"], open_obstacles=r["open_obstacles"], thresholds=limits)
        out[r["project_id"]] = {"project_id": r["project_id"], "code": r["code"], "title": r["title"],
                                "status": status, "reasons": reasons}
    return out


def _listed(rows: list[asyncpg.Record]) -> tuple[list[dict[str, Any]], int]:
    """The rows of a section (cut to the briefing's limit) and how many there are in all (`total` column)."""
    return [{k: v for k, v in r.items() if k != "total"} for r in rows], (rows[0]["total"] if rows else 0)


async def _progress(conn: asyncpg.Connection, year: int, start: date, end: date,
                    limit: int) -> tuple[list[dict[str, Any]], int]:
    rows = await conn.fetch(
        """SELECT p.project_id, p.code, p.title,
                  (SELECT percent FROM br_reports r WHERE r.project_id = p.project_id AND r.as_of < $2
                   ORDER BY r.as_of DESC, r.percent DESC LIMIT 1) AS before,
                  (SELECT percent FROM br_reports r WHERE r.project_id = p.project_id AND r.as_of <= $3
                   ORDER BY r.as_of DESC, r.percent DESC LIMIT 1) AS after,
                  count(*) OVER () AS total
           FROM sv_projects p
           WHERE p.year = $1 AND EXISTS (SELECT 1 FROM br_reports r WHERE r.project_id = p.project_id
                                         AND r.as_of BETWEEN $2 AND $3)
           ORDER BY p.code LIMIT $4""", year, start, end, limit)
    return _listed(rows)


async def _feedback(conn: asyncpg.Connection, year: int, start: date, end: date, now: date,
                    limit: int) -> tuple[tuple[list[dict[str, Any]], int], tuple[list[dict[str, Any]], int]]:
    new = await conn.fetch("""SELECT feedback_id, category, content, raised_on, count(*) OVER () AS total
                              FROM bd_feedback WHERE year = $1 AND raised_on BETWEEN $2 AND $3
                              ORDER BY raised_on, feedback_id LIMIT $4""", year, start, end, limit)
    # Due within the period (and already past) with no answer from the main department by the due date.
    overdue = await conn.fetch(
        """SELECT f.feedback_id, f.category, f.content, f.due_on,
                  ARRAY(SELECT d.dept_code FROM bd_feedback_depts d WHERE d.feedback_id = f.feedback_id
                        AND d.role = 'main') AS departments,
                  count(*) OVER () AS total
           FROM bd_feedback f
           WHERE f.year = $1 AND f.due_on BETWEEN $2 AND $3 AND f.due_on < $4
             AND (f.answered_on IS NULL OR f.answered_on > f.due_on)
           ORDER BY f.due_on, f.feedback_id LIMIT $5""", year, start, end, now, limit)
    return _listed(new), _listed(overdue)


_HELD = "NOT a.cancelled AND a.year = $1 AND a.starts_on BETWEEN $2 AND $3 AND a.starts_on <= $4"


async def _activities(conn: asyncpg.Connection, year: int, start: date, end: date, now: date,
                      limit: int) -> tuple[list[dict[str, Any]], Counter[str], Counter[str]]:
    """The period's activities (cut to `limit`), how many of each kind, and the attendance marks of all of them."""
    rows = await conn.fetch(f"""SELECT activity_id, kind, title, starts_on FROM sv_activities a WHERE {_HELD}
                                ORDER BY starts_on, activity_id LIMIT $5""", year, start, end, now, limit)
    kinds = await conn.fetch(f"SELECT kind, count(*) AS n FROM sv_activities a WHERE {_HELD} GROUP BY kind",
                             year, start, end, now)
    marks = await conn.fetch(f"""SELECT b.status, count(*) AS n FROM bd_attendance b
                                 JOIN sv_activities a USING (activity_id) WHERE {_HELD} GROUP BY b.status""",
                             year, start, end, now)
    return ([dict(r) for r in rows], Counter({r["kind"]: r["n"] for r in kinds}),
            Counter({r["status"]: r["n"] for r in marks}))


async def generate_briefing(conn: asyncpg.Connection, q: GenerateBriefing) -> dict[str, Any]:
    """The briefing of a period, as data, Markdown and HTML.

    Each section lists at most `q.limit` rows and says how many there are in all, so a briefing of
    a province-wide month stays readable and within one message.
    """
    start, end = period_of(q.year, q.start, q.end, q.period, q.day)
    now = today()
    activities, held, marks = await _activities(conn, q.year, start, end, now, q.limit)
    before = await statuses_on(conn, q.year, start - timedelta(days=1))
    after = await statuses_on(conn, q.year, end)
    turned = [{"project_id": pid, "code": r["code"], "title": r["title"],
               "from": before[pid]["status"] if pid in before else "green", "to": r["status"],
               "reasons": [x["text"] for x in r["reasons"]]}
              for pid, r in after.items()
              if r["status"] in ("amber", "red")
              and RANK[r["status"]] > RANK[before.get(pid, {}).get("status", "green")]]
    (new, new_total), (overdue, overdue_total) = await _feedback(conn, q.year, start, end, now, q.limit)
    progress, progress_total = await _progress(conn, q.year, start, end, q.limit)
    data = {
        "year": q.year, "start": start, "end": end, "limit": q.limit,
        "activities": activities, "activities_by_kind": {k: held[k] for k in KINDS},
        "progress": progress, "turned": turned[:q.limit], "feedback_new": new, "feedback_overdue": overdue,
        "attendance": rate(marks),
        "totals": {"activities": sum(held.values()), "progress": progress_total, "turned": len(turned),
                   "feedback_new": new_total, "feedback_overdue": overdue_total},
    }
    return {**data, "markdown": to_markdown(data), "html": to_html(data)}


QUERIES = {GenerateBriefing: generate_briefing}
