"""The feedback service's own copy of projects, delegates and activities events, and the facts read from it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from services.feedback.evaluation import VoterFacts
from services.feedback.references import SubmissionFacts
from shared.contracts.activities import OpinionRaised
from shared.contracts.base import EventEnvelope
from shared.contracts.delegates import (
    DelegateDetailsChanged,
    DelegateRegistered,
    DelegateTermEnded,
    GroupFormed,
    GroupMemberJoined,
    GroupMemberLeft,
    SupervisionAssigned,
)
from shared.contracts.feedback import SubmitFeedback
from shared.contracts.projects import (
    DepartmentRegistered,
    PhaseWindow,
    ProjectVoted,
    YearCalendar,
    YearCalendarAdjusted,
    YearClosed,
    YearOpened,
)
from shared.readmodel import ReadModel

OpinionRecorder = Callable[[asyncpg.Connection, EventEnvelope, OpinionRaised], Awaitable[None]]
COPY_TABLES = ("departments", "years", "projects", "delegates", "groups", "group_members", "supervision")


def copy_model(record_opinion: OpinionRecorder) -> ReadModel:
    """The appliers keeping the copy tables (migrations/0001_copy.sql); opinions become feedback items."""
    model = ReadModel(name="feedback-copy")

    @model.on(DepartmentRegistered)
    async def department(conn: asyncpg.Connection, env: EventEnvelope, e: DepartmentRegistered) -> None:
        await conn.execute(
            """INSERT INTO copy_departments (code, name, short_name) VALUES ($1, $2, $3)
               ON CONFLICT (code) DO UPDATE SET name = excluded.name, short_name = excluded.short_name""",
            e.code, e.name, e.short_name)

    @model.on(YearOpened)
    async def year_opened(conn: asyncpg.Connection, env: EventEnvelope, e: YearOpened) -> None:
        await conn.execute(
            """INSERT INTO copy_years (year, calendar, evaluation_scope) VALUES ($1, $2, $3)
               ON CONFLICT (year) DO UPDATE SET calendar = excluded.calendar,
                                                evaluation_scope = excluded.evaluation_scope""",
            e.year, e.calendar.model_dump(mode="json"), e.evaluation_scope)

    @model.on(YearCalendarAdjusted)
    async def calendar_adjusted(conn: asyncpg.Connection, env: EventEnvelope, e: YearCalendarAdjusted) -> None:
        await conn.execute("UPDATE copy_years SET calendar = $2 WHERE year = $1", e.year,
                           e.calendar.model_dump(mode="json"))

    @model.on(YearClosed)
    async def year_closed(conn: asyncpg.Connection, env: EventEnvelope, e: YearClosed) -> None:
        await conn.execute("UPDATE copy_years SET closed = true WHERE year = $1", e.year)

    @model.on(ProjectVoted)
    async def project(conn: asyncpg.Connection, env: EventEnvelope, e: ProjectVoted) -> None:
        await conn.execute(
            """INSERT INTO copy_projects (project_id, year, code, title, lead_unit, co_units)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (project_id) DO NOTHING""",
            e.project_id, e.year, e.code, e.title, e.lead_unit, e.co_units)

    @model.on(DelegateRegistered)
    async def delegate(conn: asyncpg.Connection, env: EventEnvelope, e: DelegateRegistered) -> None:
        await conn.execute(
            """INSERT INTO copy_delegates (delegate_id, name, active) VALUES ($1, $2, true)
               ON CONFLICT (delegate_id) DO UPDATE SET name = excluded.name""",
            e.delegate_id, e.name)

    @model.on(DelegateDetailsChanged)
    async def delegate_renamed(conn: asyncpg.Connection, env: EventEnvelope, e: DelegateDetailsChanged) -> None:
        await conn.execute("UPDATE copy_delegates SET name = $2 WHERE delegate_id = $1", e.delegate_id, e.name)

    @model.on(DelegateTermEnded)
    async def term_ended(conn: asyncpg.Connection, env: EventEnvelope, e: DelegateTermEnded) -> None:
        await conn.execute("UPDATE copy_delegates SET active = false WHERE delegate_id = $1", e.delegate_id)

    @model.on(GroupFormed)
    async def group(conn: asyncpg.Connection, env: EventEnvelope, e: GroupFormed) -> None:
        await conn.execute(
            """INSERT INTO copy_groups (group_id, year, name) VALUES ($1, $2, $3)
               ON CONFLICT (group_id) DO UPDATE SET name = excluded.name""",
            e.group_id, e.year, e.name)

    @model.on(GroupMemberJoined)
    async def member_joined(conn: asyncpg.Connection, env: EventEnvelope, e: GroupMemberJoined) -> None:
        await conn.execute(
            """INSERT INTO copy_group_members (year, delegate_id, group_id) VALUES ($1, $2, $3)
               ON CONFLICT (year, delegate_id) DO UPDATE SET group_id = excluded.group_id""",
            e.year, e.delegate_id, e.group_id)

    @model.on(GroupMemberLeft)
    async def member_left(conn: asyncpg.Connection, env: EventEnvelope, e: GroupMemberLeft) -> None:
        await conn.execute("DELETE FROM copy_group_members WHERE year = $1 AND delegate_id = $2 AND group_id = $3",
                           e.year, e.delegate_id, e.group_id)

    @model.on(SupervisionAssigned)
    async def supervision(conn: asyncpg.Connection, env: EventEnvelope, e: SupervisionAssigned) -> None:
        await conn.execute(
            """INSERT INTO copy_supervision (project_id, year, group_id) VALUES ($1, $2, $3)
               ON CONFLICT (project_id) DO UPDATE SET year = excluded.year, group_id = excluded.group_id""",
            e.project_id, e.year, e.group_id)

    model.on(OpinionRaised)(record_opinion)
    return model


async def submission_facts(conn: asyncpg.Connection, cmd: SubmitFeedback) -> SubmissionFacts:
    """What the copy knows about a submission's project, delegates and group."""
    project_year = None
    if cmd.project_id:
        project_year = await conn.fetchval("SELECT year FROM copy_projects WHERE project_id = $1", cmd.project_id)
    rows = await conn.fetch("SELECT delegate_id, active FROM copy_delegates WHERE delegate_id = ANY($1::text[])",
                            cmd.raised_by)
    group_year, members = None, frozenset[str]()
    if cmd.group_id:
        group_year = await conn.fetchval("SELECT year FROM copy_groups WHERE group_id = $1", cmd.group_id)
        members = frozenset(await _column(conn, "SELECT delegate_id FROM copy_group_members WHERE group_id = $1",
                                          cmd.group_id))
    return SubmissionFacts(project_year=project_year, delegates={r["delegate_id"]: r["active"] for r in rows},
                           group_year=group_year, group_members=members)


async def known_departments(conn: asyncpg.Connection, codes: list[str]) -> set[str]:
    """The codes among these that the copy knows as registered departments."""
    return set(await _column(conn, "SELECT code FROM copy_departments WHERE code = ANY($1::text[])", codes))


async def voter_facts(conn: asyncpg.Connection, project_id: str, delegate_id: str) -> VoterFacts:
    """What the copy knows about an evaluation vote's year, project and delegate."""
    project = await conn.fetchrow("SELECT year FROM copy_projects WHERE project_id = $1", project_id)
    if project is None:
        return VoterFacts(project_year=None)
    year = project["year"]
    year_row = await conn.fetchrow("SELECT calendar, evaluation_scope, closed FROM copy_years WHERE year = $1", year)
    window: PhaseWindow | None = None
    if year_row is not None:
        window = YearCalendar.model_validate(year_row["calendar"]).evaluation
    active = await conn.fetchval("SELECT active FROM copy_delegates WHERE delegate_id = $1", delegate_id)
    return VoterFacts(
        project_year=year, window=window,
        scope=year_row["evaluation_scope"] if year_row else "group",
        year_closed=bool(year_row and year_row["closed"]),
        supervising_group=await conn.fetchval("SELECT group_id FROM copy_supervision WHERE project_id = $1",
                                              project_id),
        delegate_active=active,
        delegate_group=await conn.fetchval(
            "SELECT group_id FROM copy_group_members WHERE year = $1 AND delegate_id = $2", year, delegate_id),
    )


async def copy_counts(pool: asyncpg.Pool) -> dict[str, Any]:
    """How much the copy knows, per table (health: demo data and operators wait on it)."""
    async with pool.acquire() as conn:
        return {name: await conn.fetchval(f"SELECT count(*) FROM copy_{name}") for name in COPY_TABLES}


async def _column(conn: asyncpg.Connection, sql: str, *args: Any) -> list[Any]:
    return [r[0] for r in await conn.fetch(sql, *args)]
