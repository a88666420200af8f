"""The projects list view (huimin.qry.projects.list)."""

from __future__ import annotations

from typing import Any

import asyncpg

from shared.readmodel import ReadModel
from shared.contracts.base import EventEnvelope
from shared.contracts.projects import ListProjects, ProjectVoted

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
        lead_unit     text NOT NULL,
        votes_for     integer NOT NULL,
        votes_against integer NOT NULL,
        votes_abstain integer NOT NULL,
        voted_on      date NOT NULL,
        status        text NOT NULL,
        updated_at    timestamptz NOT NULL,
        last_event_id uuid NOT NULL
    );
    CREATE INDEX projects_year ON projects (year, code);
    """,
)


@model.on(ProjectVoted)
async def project_voted(conn: asyncpg.Connection, env: EventEnvelope, e: ProjectVoted) -> None:
    """A voted project enters the list."""
    await conn.execute(
        """INSERT INTO projects (project_id, year, code, title, category, lead_unit, votes_for, votes_against,
                                 votes_abstain, voted_on, status, updated_at, last_event_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'voted', $11, $12)""",
        e.project_id, e.year, e.code, e.title, e.category, e.lead_unit, e.votes_for, e.votes_against,
        e.votes_abstain, e.voted_on, env.occurred_at, env.event_id,
    )


async def list_projects(conn: asyncpg.Connection, q: ListProjects) -> dict[str, Any]:
    """Projects matching the filters, newest year first, with the total count."""
    where, args = ["TRUE"], []
    for column, value in (("year", q.year), ("lead_unit", q.lead_unit), ("category", q.category)):
        if value is not None:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    cond = " AND ".join(where)
    total = await conn.fetchval(f"SELECT count(*) FROM projects WHERE {cond}", *args)
    rows = await conn.fetch(
        f"""SELECT project_id, year, code, title, category, lead_unit, votes_for, votes_against, votes_abstain,
                   voted_on, status, updated_at FROM projects WHERE {cond}
            ORDER BY year DESC, code LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}""",
        *args, q.limit, q.offset,
    )
    return {"items": [dict(r) for r in rows], "total": total}


QUERIES = {ListProjects: list_projects}
