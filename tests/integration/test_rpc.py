"""Command RPC: reply shapes, validation with field paths, and `unavailable` instead of hanging."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

import pytest

from services.projects.main import build as build_projects
from shared.contracts.projects import RegisterVotedProject
from shared.rpc import RpcClient
from shared.runtime.embedded import EmbeddedPostgres
from shared.subjects import command_subject, health_subject

SUBJECT = command_subject("projects", RegisterVotedProject.name)
GOOD = {
    "year": 2026, "code": "07", "title": "嘎洒镇饮水安全巩固提升", "category": "农业农村", "lead_unit": "jhslj",
    "votes_for": 150, "votes_against": 10, "votes_abstain": 2, "voted_on": "2026-01-21",
}


async def open_year_and_lead_unit(client: RpcClient) -> None:
    """A project needs its year opened and its lead unit registered first."""
    await client.call(command_subject("projects", "open_year"),
                      {"year": 2026, "session_start": "2026-01-17", "session_end": "2026-01-21"})
    await client.call(command_subject("projects", "register_department"),
                      {"code": "jhslj", "full_name": "景洪市水利局", "short_name": "市水利局"})


@pytest.fixture
async def projects_service(settings, nc):
    rt = build_projects(settings)
    await rt.start()
    await open_year_and_lead_unit(RpcClient(nc))
    yield rt
    await rt.stop()


async def test_success_and_conflict_replies(projects_service, nc):
    client = RpcClient(nc)
    ok = await client.request(SUBJECT, GOOD, actor="office:王芳")
    assert ok["ok"] is True and ok["project_id"] == "project-2026-07" and ok["version"] == 1
    again = await client.request(SUBJECT, GOOD)
    assert again["ok"] is False and again["error"]["code"] == "conflict"
    stored = await projects_service.store.load("project-2026-07")
    assert stored[0].actor == "office:王芳", "the actor comes from the request header"


async def test_invalid_fields_are_reported_with_their_paths(projects_service, nc):
    reply = await RpcClient(nc).request(SUBJECT, {**GOOD, "votes_for": -3, "lead_unit": "不是代码", "surprise": 1})
    assert reply["ok"] is False and reply["error"]["code"] == "validation"
    fields = {d["field"] for d in reply["error"]["details"]}
    assert fields == {"votes_for", "lead_unit", "surprise"}
    assert reply["error"]["message"]


async def test_malformed_json_is_a_validation_error(projects_service, nc):
    msg = await nc.request(SUBJECT, b"{not json", timeout=5)
    reply = json.loads(msg.data)
    assert reply["error"]["code"] == "validation"


async def test_domain_rule_violation_is_a_validation_error(projects_service, nc):
    reply = await RpcClient(nc).request(SUBJECT, {**GOOD, "votes_for": 1, "votes_against": 100})
    assert reply["error"]["code"] == "validation"
    assert reply["error"]["details"][0]["field"] == "votes_for"


async def test_no_service_means_unavailable(nc, nats_url):
    reply = await RpcClient(nc, timeout=1).request(SUBJECT, GOOD)
    assert reply["error"]["code"] == "unavailable"


async def test_service_without_postgres_answers_unavailable_quickly(settings, nc):
    """Stop PostgreSQL under a running service: commands get `unavailable`, not a hang."""
    pg = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="huimin-pg-")), fast_unsafe=True).start()
    rt = build_projects(settings.model_copy(update={"database_url": pg.url}))
    await rt.start()
    client = RpcClient(nc, timeout=10)
    try:
        await open_year_and_lead_unit(client)
        first = await client.request(SUBJECT, GOOD)
        assert first["ok"] is True, first
        health = await client.request(health_subject("projects"), {})
        assert health["ready"] is True and health["checks"] == {"nats": True, "postgres": True}
        pg.stop()
        reply = await client.request(SUBJECT, {**GOOD, "code": "08"})
        assert reply["error"]["code"] == "unavailable"
        assert "服务暂时不可用" in reply["error"]["message"], "the service answered, not the client's own timeout"
        health = await client.request(health_subject("projects"), {})
        assert health["ready"] is False and health["checks"]["postgres"] is False
    finally:
        await asyncio.wait_for(rt.stop(), 20)
        pg.stop()
