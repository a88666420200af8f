"""The proximity suggestion query (huimin.qry.delegates.suggest), answered from the service's own tables."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.delegates import tables
from services.delegates.domain.suggestion import CommitteeInfo, LeaderInfo, SuggestionInput, suggest
from shared.contracts.delegates import SERVICE, SuggestSupervision
from shared.errors import NotFound
from shared.rpc import RequestContext
from shared.service import ServiceRuntime
from shared.subjects import query_subject


async def gather(conn: asyncpg.Connection, project_id: str) -> SuggestionInput:
    """What the suggestion for a project is computed from."""
    project = await tables.project(conn, project_id)
    if project is None:
        raise NotFound(f"未找到项目 {project_id}（或尚未同步） / project not found (or not received yet)",
                       {"project_id": project_id})
    members: dict[str, list[str]] = {}
    for r in await conn.fetch("SELECT group_id, delegate_id FROM memberships WHERE year = $1 ORDER BY delegate_id",
                              project.year):
        members.setdefault(r["group_id"], []).append(r["delegate_id"])
    load_sql = """SELECT {col} AS id, count(*) AS n FROM supervision_facts
                  WHERE year = $1 AND project_id <> $2 GROUP BY {col}"""
    committee_load = await conn.fetch(load_sql.format(col="committee_id"), project.year, project_id)
    leader_load = await conn.fetch(load_sql.format(col="leader_id"), project.year, project_id)
    return SuggestionInput(
        project=project,
        groups=await tables.groups_of_year(conn, project.year),
        members=members,
        delegates=await tables.active_delegates(conn),
        memberships=await tables.memberships(conn, project.year),
        committees=[CommitteeInfo(r["committee_id"], r["name"], tuple(r["categories"]))
                    for r in await conn.fetch("SELECT * FROM committee_facts ORDER BY committee_id")],
        leaders=[LeaderInfo(r["leader_id"], r["name"], r["title"], tuple(r["committee_ids"]))
                 for r in await conn.fetch("SELECT * FROM leader_facts ORDER BY leader_id")],
        committee_load={r["id"]: r["n"] for r in committee_load},
        leader_load={r["id"]: r["n"] for r in leader_load},
    )


async def answer(conn: asyncpg.Connection, q: SuggestSupervision) -> dict[str, Any]:
    """The ranked suggestion for a project, with the current assignment and whether its year is open."""
    inp = await gather(conn, q.project_id)
    p = inp.project
    if q.group_id is not None and q.group_id not in {g.group_id for g in inp.groups}:
        raise NotFound(f"{p.year} 年度没有代表小组 {q.group_id} / no such group in {p.year}", {"group_id": q.group_id})
    year = await tables.year(conn, p.year)
    assigned = await conn.fetchrow("SELECT leader_id, committee_id, group_id FROM supervision_facts "
                                   "WHERE project_id = $1", q.project_id)
    return {
        "project": {"project_id": p.project_id, "year": p.year, "title": p.title, "category": p.category,
                    "townships": list(p.townships), "locations": [loc.model_dump(mode="json") for loc in p.locations]},
        "year_open": bool(year and year.open),
        "assigned": dict(assigned) if assigned else None,
        **suggest(inp, q.limit, q.group_id),
    }


def register(rt: ServiceRuntime) -> None:
    """Answer the suggestion query on huimin.qry.delegates.suggest (queue group: the delegates service)."""

    @rt.rpc.handle(query_subject(SERVICE, SuggestSupervision.name), SuggestSupervision)
    async def suggest_supervision(q: SuggestSupervision, ctx: RequestContext) -> dict[str, Any]:
        assert rt.pool is not None
        async with rt.pool.acquire() as conn:
            return await answer(conn, q)
