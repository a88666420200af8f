"""The projects view: voted projects with their plans, progress, obstacles and status; departments; years.

Queries: huimin.qry.projects.list, .get (one project in detail), .departments, .year.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from shared.contracts.base import EventEnvelope
from shared.contracts.gateway import Attachment
from shared.contracts.projects import (
    OBSTACLE_KINDS, DepartmentRegistered, GetProject, GetYear, ListDepartments, ListProjects, ObstacleReported,
    ObstacleResolved, PlanRevised, PlanSubmitted, ProgressReported, ProjectAccepted, ProjectCancelled,
    ProjectCompleted, ProjectVoted, YearCalendar, YearCalendarAdjusted, YearClosed, YearOpened,
)
from shared.errors import NotFound
from shared.readmodel import ReadModel
from shared.timeutil import local_date

VIEW = "projects"

model = ReadModel(
    name="projects",
    ddl="""
    CREATE TABLE projects (
        project_id    text PRIMARY KEY,
        year          integer NOT NULL,
        code          text NOT NULL,
        title         text NOT NULL,
        category      text NOT NULL,
        description   text NOT NULL,
        lead_unit     text NOT NULL,
        co_units      jsonb NOT NULL,
        townships     jsonb NOT NULL,
        locations     jsonb NOT NULL,
        budget_wan    double precision,
        votes_for     integer NOT NULL,
        votes_against integer NOT NULL,
        votes_abstain integer NOT NULL,
        voted_on      date NOT NULL,
        status        text NOT NULL,
        plan_revision integer NOT NULL DEFAULT 0,
        plan_submitted_on date,
        plan_late     boolean,
        plan_days_late integer,
        target_completion date,
        milestones    jsonb NOT NULL DEFAULT '[]',
        percent       double precision,
        milestones_completed jsonb NOT NULL DEFAULT '[]',
        last_report_as_of date,
        last_reported_by text,
        funds_spent_wan double precision,
        reports       integer NOT NULL DEFAULT 0,
        open_obstacles integer NOT NULL DEFAULT 0,
        completed_on  date,
        accepted_on   date,
        cancelled_on  date,
        cancel_reason text,
        updated_at    timestamptz NOT NULL,
        last_event_id uuid NOT NULL
    );
    CREATE INDEX projects_year ON projects (year, code);
    CREATE TABLE project_plans (
        project_id text NOT NULL, revision integer NOT NULL, milestones jsonb NOT NULL,
        target_completion date NOT NULL, dated_on date NOT NULL, late boolean NOT NULL, reason text NOT NULL,
        PRIMARY KEY (project_id, revision)
    );
    CREATE TABLE project_reports (
        event_id uuid PRIMARY KEY, project_id text NOT NULL, version integer NOT NULL, as_of date NOT NULL,
        percent double precision NOT NULL, milestones_completed jsonb NOT NULL, narrative text NOT NULL,
        problems text NOT NULL, funds_spent_wan double precision, correction boolean NOT NULL,
        correction_reason text NOT NULL, reported_by text NOT NULL, message_id text, recorded_at timestamptz NOT NULL,
        attachments jsonb NOT NULL DEFAULT '[]'  -- [{key, size, content_type, sha256, filename}]
    );
    CREATE INDEX project_reports_project ON project_reports (project_id, version);
    CREATE TABLE project_obstacles (
        project_id text NOT NULL, obstacle_id text NOT NULL, kind text NOT NULL, description text NOT NULL,
        reported_on date NOT NULL, source text NOT NULL, resolved_on date, resolution text,
        PRIMARY KEY (project_id, obstacle_id)
    );
    CREATE TABLE departments (code text PRIMARY KEY, name text NOT NULL, short_name text NOT NULL);
    CREATE TABLE years (
        year integer PRIMARY KEY, calendar jsonb NOT NULL, evaluation_scope text NOT NULL,
        closed boolean NOT NULL DEFAULT false, adjustments jsonb NOT NULL DEFAULT '[]'
    );
    """,
)


def _files(attachments: list[Attachment]) -> list[dict[str, Any]]:
    """Attachments as stored in a jsonb column and answered: [{key, size, content_type, sha256, filename}]."""
    return [a.model_dump(mode="json") for a in attachments]


async def _touch(conn: asyncpg.Connection, env: EventEnvelope, sets: str, *args: Any) -> None:
    """Update a project's row: the given assignments ($3 …) plus the bookkeeping columns."""
    await conn.execute(f"UPDATE projects SET {sets}, updated_at = $2, last_event_id = $1 WHERE project_id = $"
                       f"{len(args) + 3}", env.event_id, env.recorded_at, *args, env.stream_id)


@model.on(ProjectVoted)
async def project_voted(conn: asyncpg.Connection, env: EventEnvelope, e: ProjectVoted) -> None:
    """A voted project enters the list."""
    await conn.execute(
        """INSERT INTO projects (project_id, year, code, title, category, description, lead_unit, co_units, townships,
                                 locations, budget_wan, votes_for, votes_against, votes_abstain, voted_on, status,
                                 updated_at, last_event_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'voted', $16, $17)""",
        e.project_id, e.year, e.code, e.title, e.category, e.description, e.lead_unit, e.co_units, e.townships,
        [loc.model_dump(mode="json") for loc in e.locations], e.budget_wan, e.votes_for, e.votes_against,
        e.votes_abstain, e.voted_on, env.recorded_at, env.event_id,
    )


@model.on(PlanSubmitted)
@model.on(PlanRevised)
async def plan_changed(conn: asyncpg.Connection, env: EventEnvelope, e: PlanSubmitted | PlanRevised) -> None:
    """The plan in force, and one more entry in the plan history."""
    milestones = e.model_dump(mode="json")["milestones"]
    if isinstance(e, PlanSubmitted):
        revision, dated_on, late, reason = 1, e.submitted_on, e.late, ""
    else:
        revision, dated_on, late, reason = e.revision, e.revised_on, False, e.reason
    await conn.execute("INSERT INTO project_plans VALUES ($1, $2, $3, $4, $5, $6, $7)", e.project_id, revision,
                       milestones, e.target_completion, dated_on, late, reason)
    if isinstance(e, PlanSubmitted):
        await _touch(conn, env, "status = 'planned', plan_submitted_on = $3, plan_late = $4, plan_days_late = $5",
                     e.submitted_on, e.late, e.days_late)
    await _touch(conn, env, "plan_revision = $3, milestones = $4, target_completion = $5", revision, milestones,
                 e.target_completion)


@model.on(ProgressReported)
async def progress_reported(conn: asyncpg.Connection, env: EventEnvelope, e: ProgressReported) -> None:
    """The latest figures on the project, and the report in its history."""
    await conn.execute(
        "INSERT INTO project_reports VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        env.event_id, e.project_id, env.version, e.as_of, e.percent, e.milestones_completed, e.narrative, e.problems,
        e.funds_spent_wan, e.correction, e.correction_reason, e.reported_by, e.message_id, env.recorded_at,
        _files(e.attachments))
    await _touch(conn, env, """status = CASE WHEN status = 'planned' THEN 'in_progress' ELSE status END,
                               percent = $3, milestones_completed = $4, last_report_as_of = $5, last_reported_by = $6,
                               funds_spent_wan = coalesce($7, funds_spent_wan), reports = reports + 1""",
                 e.percent, e.milestones_completed, e.as_of, e.reported_by, e.funds_spent_wan)


@model.on(ObstacleReported)
async def obstacle_reported(conn: asyncpg.Connection, env: EventEnvelope, e: ObstacleReported) -> None:
    """An open obstacle."""
    await conn.execute("INSERT INTO project_obstacles (project_id, obstacle_id, kind, description, reported_on, source)"
                       " VALUES ($1, $2, $3, $4, $5, $6)", e.project_id, e.obstacle_id, e.kind, e.description,
                       e.reported_on, e.source)
    await _touch(conn, env, "open_obstacles = open_obstacles + 1")


@model.on(ObstacleResolved)
async def obstacle_resolved(conn: asyncpg.Connection, env: EventEnvelope, e: ObstacleResolved) -> None:
    """An obstacle overcome."""
    await conn.execute("UPDATE project_obstacles SET resolved_on = $3, resolution = $4 WHERE project_id = $1 AND "
                       "obstacle_id = $2", e.project_id, e.obstacle_id, e.resolved_on, e.resolution)
    await _touch(conn, env, "open_obstacles = open_obstacles - 1")


@model.on(ProjectCompleted)
async def project_completed(conn: asyncpg.Connection, env: EventEnvelope, e: ProjectCompleted) -> None:
    """Works finished."""
    await _touch(conn, env, "status = 'completed', completed_on = $3", e.completed_on)


@model.on(ProjectAccepted)
async def project_accepted(conn: asyncpg.Connection, env: EventEnvelope, e: ProjectAccepted) -> None:
    """Accepted (验收)."""
    await _touch(conn, env, "status = 'accepted', accepted_on = $3", e.accepted_on)


@model.on(ProjectCancelled)
async def project_cancelled(conn: asyncpg.Connection, env: EventEnvelope, e: ProjectCancelled) -> None:
    """Cancelled, with the reason."""
    await _touch(conn, env, "status = 'cancelled', cancelled_on = $3, cancel_reason = $4", e.cancelled_on, e.reason)


@model.on(DepartmentRegistered)
async def department_registered(conn: asyncpg.Connection, env: EventEnvelope, e: DepartmentRegistered) -> None:
    """A department in the registry."""
    await conn.execute("INSERT INTO departments VALUES ($1, $2, $3)", e.code, e.name, e.short_name)


@model.on(YearOpened)
async def year_opened(conn: asyncpg.Connection, env: EventEnvelope, e: YearOpened) -> None:
    """A year's calendar."""
    await conn.execute("INSERT INTO years (year, calendar, evaluation_scope) VALUES ($1, $2, $3)",
                       e.year, e.calendar.model_dump(mode="json"), e.evaluation_scope)


@model.on(YearCalendarAdjusted)
async def year_adjusted(conn: asyncpg.Connection, env: EventEnvelope, e: YearCalendarAdjusted) -> None:
    """The calendar replaced, the reason kept."""
    note = {"reason": e.reason, "recorded_at": env.recorded_at.isoformat(), "actor": env.actor}
    await conn.execute("UPDATE years SET calendar = $2, adjustments = adjustments || $3::jsonb WHERE year = $1",
                       e.year, e.calendar.model_dump(mode="json"), [note])


@model.on(YearClosed)
async def year_closed(conn: asyncpg.Connection, env: EventEnvelope, e: YearClosed) -> None:
    """The year's records closed."""
    await conn.execute("UPDATE years SET closed = true WHERE year = $1", e.year)


_LIST_COLUMNS = """project_id, year, code, title, category, lead_unit, co_units, townships, budget_wan, votes_for,
    votes_against, votes_abstain, voted_on, status, plan_submitted_on, plan_late, target_completion, percent,
    last_report_as_of, open_obstacles, updated_at"""


async def list_projects(conn: asyncpg.Connection, q: ListProjects) -> dict[str, Any]:
    """Projects matching the filters, newest year first, with the total count."""
    where, args = ["TRUE"], []
    for column, value in (("year", q.year), ("lead_unit", q.lead_unit), ("category", q.category), ("status", q.status)):
        if value is not None:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    if q.township is not None:
        args.append(q.township)
        where.append(f"townships ? ${len(args)}")
    cond = " AND ".join(where)
    total = await conn.fetchval(f"SELECT count(*) FROM projects WHERE {cond}", *args)
    rows = await conn.fetch(
        f"""SELECT {_LIST_COLUMNS} FROM projects WHERE {cond}
            ORDER BY year DESC, code LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}""",
        *args, q.limit, q.offset,
    )
    return {"items": [dict(r) for r in rows], "total": total}


async def get_project(conn: asyncpg.Connection, q: GetProject) -> dict[str, Any]:
    """One project with its plan history, every progress report and every obstacle."""
    row = await conn.fetchrow("SELECT * FROM projects WHERE project_id = $1", q.project_id)
    if row is None:
        raise NotFound(f"没有项目 {q.project_id} / no project {q.project_id}")
    plans = await conn.fetch("SELECT revision, milestones, target_completion, dated_on, late, reason FROM project_plans"
                             " WHERE project_id = $1 ORDER BY revision", q.project_id)
    reports = await conn.fetch("SELECT * FROM project_reports WHERE project_id = $1 ORDER BY version", q.project_id)
    obstacles = await conn.fetch("SELECT * FROM project_obstacles WHERE project_id = $1 ORDER BY reported_on, "
                                 "obstacle_id", q.project_id)
    return {
        "project": {k: v for k, v in dict(row).items() if k != "last_event_id"},
        "plans": [dict(p) for p in plans],
        "reports": [{k: v for k, v in dict(r).items() if k != "project_id"} for r in reports],
        "obstacles": [{**{k: v for k, v in dict(o).items() if k != "project_id"}, "kind_zh": OBSTACLE_KINDS[o["kind"]]}
                      for o in obstacles],
    }


async def list_departments(conn: asyncpg.Connection, q: ListDepartments) -> dict[str, Any]:
    """The department registry, by code."""
    rows = await conn.fetch("SELECT code, name, short_name FROM departments ORDER BY code")
    return {"items": [dict(r) for r in rows], "total": len(rows)}


async def get_year(conn: asyncpg.Connection, q: GetYear) -> dict[str, Any]:
    """A year's calendar, its adjustments, and the phase of today (Asia/Shanghai)."""
    row = await conn.fetchrow("SELECT * FROM years WHERE year = $1", q.year)
    if row is None:
        raise NotFound(f"{q.year} 年度尚未开启 / the year {q.year} has not been opened")
    today = local_date(datetime.now(UTC))
    return {**dict(row), "today": today, "phase_today": YearCalendar.model_validate(row["calendar"]).phase_of(today)}


QUERIES = {ListProjects: list_projects, GetProject: get_project, ListDepartments: list_departments, GetYear: get_year}
