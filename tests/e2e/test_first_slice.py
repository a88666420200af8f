"""End to end: a command over NATS becomes visible through the query subject."""

from __future__ import annotations

import pytest

from services.projection.main import build as build_projection
from services.projects.main import build as build_projects
from shared.contracts.projects import ListProjects, RegisterVotedProject
from shared.rpc import RpcClient
from shared.subjects import command_subject, query_subject
from tests.conftest import eventually

pytestmark = pytest.mark.asyncio


async def test_registered_project_is_listed(settings, nc):
    projects = build_projects(settings)
    projection, _ = build_projection(settings)
    await projects.start()
    await projection.start()
    try:
        client = RpcClient(nc)
        # A project needs its year opened and its lead unit registered first.
        await client.call(command_subject("projects", "open_year"),
                          {"year": 2026, "session_start": "2026-01-17", "session_end": "2026-01-20"})
        await client.call(command_subject("projects", "register_department"),
                          {"code": "jhzjj", "full_name": "景洪市住房和城乡建设局", "short_name": "市住建局"})
        cmd = RegisterVotedProject(
            year=2026, code="01", title="景洪市城区老旧小区改造", category="城乡建设", lead_unit="jhzjj",
            votes_for=180, votes_against=5, votes_abstain=3, voted_on="2026-01-20",
        )
        reply = await client.call(command_subject("projects", cmd.name), cmd, actor="office:test")
        assert reply["project_id"] == "project-2026-01"

        async def listed():
            r = await client.request(query_subject("projects", "list"), ListProjects(year=2026))
            return r if r["ok"] and r["total"] == 1 else None

        result = await eventually(listed)
        item = result["items"][0]
        assert item["title"] == "景洪市城区老旧小区改造"
        assert item["votes_for"] == 180 and item["lead_unit"] == "jhzjj"
    finally:
        await projection.stop()
        await projects.stop()
