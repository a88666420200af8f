"""The gateway's HTTP API: generated routes, error mapping, actor, OpenAPI, health, metrics, exports, files."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from openpyxl import load_workbook

from services.gateway.examples import model_example
from services.gateway.users import Role
from shared.rpc import RpcClient
from shared.subjects import health_subject
from tests.integration.gateway_support import running_gateway, stub_services

O = Role.OFFICE
REGISTER = "/api/v1/projects/register_voted_project"
GOOD_PROJECT = {
    "year": 2026, "code": "07", "title": "嘎洒镇饮水安全巩固提升", "category": "农业农村", "lead_unit": "jhslj",
    "votes_for": 150, "votes_against": 10, "votes_abstain": 2, "voted_on": "2026-01-21",
}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
async def gw(settings):
    async with running_gateway(settings, upload_max_bytes=4096) as running:
        yield running


@pytest.fixture
async def stubs(nc):
    async with stub_services(nc) as s:
        yield s


async def test_command_goes_to_its_subject_as_the_authenticated_user(gw, stubs):
    r = await gw.client.post(REGISTER, json=GOOD_PROJECT, headers=gw.as_(O))
    assert r.status_code == 200, r.text
    call = stubs.last("huimin.cmd.projects.register_voted_project")
    assert call["body"]["title"] == "嘎洒镇饮水安全巩固提升"
    assert call["actor"] == "user:office1", "the actor is the authenticated user"
    assert "ok" not in r.json() and r.json()["echo"]["code"] == "07"


async def test_client_cannot_choose_the_actor(gw, stubs):
    forged = {**GOOD_PROJECT, "actor": "user:admin1"}
    r = await gw.client.post(REGISTER, json=forged, headers={**gw.as_(O), "Huimin-Actor": "user:admin1"})
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "actor"
    await gw.client.post(REGISTER, json=GOOD_PROJECT, headers={**gw.as_(O), "Huimin-Actor": "user:admin1"})
    assert stubs.last("huimin.cmd.projects.register_voted_project")["actor"] == "user:office1"


async def test_department_users_act_as_their_department(gw, stubs):
    body = {"year": 2026, "code": "03", "reported_by": "jhjyj", "as_of": "2026-05-01", "percent": 40}
    r = await gw.client.post("/api/v1/projects/report_progress", json=body, headers=gw.as_(Role.DEPARTMENT))
    assert r.status_code == 200, r.text
    assert stubs.last("huimin.cmd.projects.report_progress")["actor"] == "dept:jhjyj"


@pytest.mark.parametrize(("code", "status"), [("validation", 422), ("not_found", 404), ("conflict", 409),
                                              ("forbidden", 403), ("unavailable", 503), ("internal", 500)])
async def test_reply_codes_map_to_http_statuses_with_the_same_body(gw, stubs, code, status):
    error = {"code": code, "message": "出错 / failed", "details": [{"field": "code", "message": "重复 / taken"}]}
    stubs.replies["huimin.cmd.projects.register_voted_project"] = lambda s, b: {"ok": False, "error": error}
    r = await gw.client.post(REGISTER, json=GOOD_PROJECT, headers=gw.as_(O))
    assert r.status_code == status
    assert r.json() == error


async def test_gateway_validation_uses_the_same_body(gw, stubs):
    r = await gw.client.post(REGISTER, json={**GOOD_PROJECT, "votes_for": -1, "lead_unit": "不是代码"},
                             headers=gw.as_(O))
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "validation" and body["message"]
    assert {d["field"] for d in body["details"]} == {"votes_for", "lead_unit"}
    assert stubs.last("huimin.cmd.projects.register_voted_project") is None, "invalid input never leaves the gateway"


async def test_no_service_means_503(gw):
    r = await gw.client.post(REGISTER, json=GOOD_PROJECT, headers=gw.as_(O))
    assert r.status_code == 503 and r.json()["code"] == "unavailable"


async def test_query_by_get_parameters_and_by_post_body(gw, stubs):
    r = await gw.client.get("/api/v1/views/projects/list", params={"year": 2026, "limit": 5}, headers=gw.as_(O))
    assert r.status_code == 200, r.text
    assert stubs.last("huimin.qry.projects.list")["body"] == {"year": 2026, "limit": 5}
    r = await gw.client.post("/api/v1/views/projects/list", json={"year": 2025}, headers=gw.as_(O))
    assert r.status_code == 200 and stubs.last("huimin.qry.projects.list")["body"] == {"year": 2025}
    r = await gw.client.get("/api/v1/views/projects/list", params={"surprise": 1}, headers=gw.as_(O))
    assert r.status_code == 422


async def test_unauthenticated_requests_get_401(gw, stubs):
    r = await gw.client.post(REGISTER, json=GOOD_PROJECT)
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    r = await gw.client.get("/api/v1/views/projects/list", headers={"Authorization": "Bearer hm_nope"})
    assert r.status_code == 401
    assert stubs.calls == []


async def test_openapi_lists_every_route_with_examples(gw):
    spec = (await gw.client.get("/openapi.json")).json()
    for route in gw.gateway.catalog.routes:
        path = f"/api/v1{route.path}"
        assert path in spec["paths"], path
        post = spec["paths"][path].get("post")
        assert post is not None, f"{path} takes a JSON body"
        examples = post["requestBody"]["content"]["application/json"]["examples"]
        example = examples["example"]["value"]
        route.model.model_validate(example)  # every example is a valid request
        assert example == model_example(route.model)
    assert "get" in spec["paths"]["/api/v1/views/projects/list"]


async def test_health_readiness_and_metrics(gw, stubs, nc):
    assert (await gw.client.get("/healthz")).json() == {"status": "ok"}
    not_ready = await gw.client.get("/readyz")
    assert not_ready.status_code == 503, "no projection answers yet"
    assert not_ready.json()["checks"] == {"nats": True, "postgres": True, "projection": False}
    async def projection_health(msg):
        await msg.respond(json.dumps({"ok": True, "ready": True, "lag": 3}).encode())

    sub = await nc.subscribe(health_subject("projection"), cb=projection_health)
    try:
        ready = await gw.client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["projection"]["lag"] == 3
    finally:
        await sub.unsubscribe()
    await gw.client.get("/api/v1/views/projects/list", headers=gw.as_(O))
    text = (await gw.client.get("/metrics")).text
    assert 'huimin_gateway_http_requests_total{method="GET",route="/api/v1/views/projects/list",status="200"}' in text
    assert 'huimin_gateway_nats_requests_total{kind="query",outcome="ok",route="projects.list"}' in text
    health = await RpcClient(nc).request(health_subject("gateway"), {})
    assert health["ready"] is True, "make up waits for this answer"


async def test_exports_in_csv_and_xlsx_with_chinese_headers(gw, stubs):
    rows = [{"project_id": "project-2026-01", "title": "老旧小区改造", "status": "in_progress", "co_units": ["a", "b"]}]
    stubs.replies["huimin.qry.projects.list"] = lambda s, b: {"ok": True, "items": rows, "total": 1}
    r = await gw.client.get("/api/v1/export/projects/list.csv", params={"year": 2026}, headers=gw.as_(O))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff项目,名称,状态,配合单位"), text
    assert "老旧小区改造,in_progress,a、b" in text
    assert stubs.last("huimin.qry.projects.list")["body"] == {"year": 2026}
    r = await gw.client.get("/api/v1/export/projects/list.xlsx", params={"year": 2026, "lang": "en"},
                            headers=gw.as_(O))
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert [c.value for c in sheet[1]] == ["Project", "Title", "Status", "Co-units"]
    assert sheet["B2"].value == "老旧小区改造"
    bad = await gw.client.get("/api/v1/export/projects/list.csv", params={"year": "x"}, headers=gw.as_(O))
    assert bad.status_code == 422


async def test_attachments_are_stored_by_sha256_with_limits(gw):
    files = {"file": ("现场照片.png", PNG, "image/png")}
    r = await gw.client.post("/api/v1/attachments", files=files, headers=gw.as_(Role.DELEGATE))
    assert r.status_code == 201, r.text
    ref = r.json()
    assert ref == {"key": hashlib.sha256(PNG).hexdigest(), "size": len(PNG), "content_type": "image/png",
                   "sha256": hashlib.sha256(PNG).hexdigest(), "filename": "现场照片.png"}
    got = await gw.client.get(f"/api/v1/attachments/{ref['key']}", headers=gw.as_(Role.VIEWER))
    assert got.status_code == 200 and got.content == PNG and got.headers["content-type"] == "image/png"
    too_big = await gw.client.post("/api/v1/attachments", files={"file": ("big.png", PNG + b"\x00" * 5000)},
                                   headers=gw.as_(O))
    assert too_big.status_code == 413 and too_big.json()["code"] == "payload_too_large"
    exe = await gw.client.post("/api/v1/attachments", files={"file": ("x.png", b"MZ\x90\x00binary", "image/png")},
                               headers=gw.as_(O))
    assert exe.status_code == 415 and "只能上传" in exe.json()["message"]
    viewer = await gw.client.post("/api/v1/attachments", files=files, headers=gw.as_(Role.VIEWER))
    assert viewer.status_code == 403
    missing = await gw.client.get(f"/api/v1/attachments/{'0' * 64}", headers=gw.as_(O))
    assert missing.status_code == 404


async def test_department_input_goes_on_ingest_as_the_users_department(gw, nc):
    """A department answers feedback from the web: published on HUIMIN_INGEST as its own code, result awaited."""
    seen = []

    async def service(msg):
        body = json.loads(msg.data)
        seen.append((msg.subject, body))
        status = "rejected" if body["content"] == "太短" else "accepted"
        result = {"dept_code": "jhjyj", "kind": "reply", "message_id": body["message_id"], "status": status,
                  "event_ids": [], "reasons": [{"code": "validation", "field": "content", "zh": "内容太短",
                                                "en": "too short"}] if status == "rejected" else []}
        await nc.publish("huimin.ingest.result.jhjyj", json.dumps(result).encode())

    sub = await nc.subscribe("huimin.ingest.*.reply", cb=service)
    try:
        reply = {"feedback_id": "fb-001", "answered_at": "2026-06-01T10:00:00+08:00", "result": "adopted",
                 "content": "已安排施工队加快进度", "dept_code": "jhslj"}
        forged = await gw.client.post("/api/v1/ingest/reply", json=reply, headers=gw.as_(Role.DEPARTMENT))
        assert forged.status_code == 422, "a department code in the body is not accepted"
        del reply["dept_code"]
        r = await gw.client.post("/api/v1/ingest/reply", json=reply, headers=gw.as_(Role.DEPARTMENT))
        assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
        assert seen[-1][0] == "huimin.ingest.jhjyj.reply" and seen[-1][1]["message_id"].startswith("web-")
        bad = await gw.client.post("/api/v1/ingest/reply", json={**reply, "content": "太短"},
                                   headers=gw.as_(Role.DEPARTMENT))
        assert bad.status_code == 422 and bad.json()["message"] == "内容太短 / too short"
        office = await gw.client.post("/api/v1/ingest/reply", json=reply, headers=gw.as_(O))
        assert office.status_code == 403, "only a department speaks for itself"
    finally:
        await sub.unsubscribe()
