"""The delegates service's own copy of the projects service's years and projects (from events)."""

from __future__ import annotations

import asyncpg

from shared.contracts.base import EventEnvelope
from shared.contracts.projects import ProjectCancelled, ProjectVoted, YearCalendarAdjusted, YearClosed, YearOpened
from shared.readmodel import ReadModel

# Tables come from migrations/0002_projects_copy.sql; the follower's version check makes each
# event apply once, and the upserts keep a replay harmless anyway.
projects_copy = ReadModel(name="delegates-projects-copy")


@projects_copy.on(YearOpened)
async def year_opened(conn: asyncpg.Connection, env: EventEnvelope, e: YearOpened) -> None:
    """A year opened: supervision of its projects may be assigned."""
    await conn.execute(
        """INSERT INTO year_copy (year, opened, calendar) VALUES ($1, true, $2)
           ON CONFLICT (year) DO UPDATE SET opened = true, calendar = excluded.calendar""",
        e.year, e.calendar.model_dump(mode="json"),
    )


@projects_copy.on(YearCalendarAdjusted)
async def year_calendar_adjusted(conn: asyncpg.Connection, env: EventEnvelope, e: YearCalendarAdjusted) -> None:
    """The year's calendar changed."""
    await conn.execute(
        """INSERT INTO year_copy (year, calendar) VALUES ($1, $2)
           ON CONFLICT (year) DO UPDATE SET calendar = excluded.calendar""",
        e.year, e.calendar.model_dump(mode="json"),
    )


@projects_copy.on(YearClosed)
async def year_closed(conn: asyncpg.Connection, env: EventEnvelope, e: YearClosed) -> None:
    """A year closed: its groups and supervision no longer change."""
    await conn.execute(
        "INSERT INTO year_copy (year, closed) VALUES ($1, true) ON CONFLICT (year) DO UPDATE SET closed = true",
        e.year,
    )


@projects_copy.on(ProjectVoted)
async def project_voted(conn: asyncpg.Connection, env: EventEnvelope, e: ProjectVoted) -> None:
    """A voted project and its places (for the proximity suggestion)."""
    await conn.execute(
        """INSERT INTO project_copy (project_id, year, code, title, category, townships, locations)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (project_id) DO UPDATE SET title = excluded.title, category = excluded.category,
               townships = excluded.townships, locations = excluded.locations""",
        e.project_id, e.year, e.code, e.title, e.category, e.townships,
        [loc.model_dump(mode="json") for loc in e.locations],
    )


@projects_copy.on(ProjectCancelled)
async def project_cancelled(conn: asyncpg.Connection, env: EventEnvelope, e: ProjectCancelled) -> None:
    """A cancelled project: no new supervision or contact duty (migrations/0003_project_cancelled.sql)."""
    await conn.execute("UPDATE project_copy SET cancelled_on = $2 WHERE project_id = $1", e.project_id, e.cancelled_on)
