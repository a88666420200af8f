"""Attachments end to end (issue #8): upload through the gateway, reference from a report, an outcome and a
contact log, see the reference in the projection's answer and download the same bytes back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.gateway.users import Role
from services.projection.main import build as build_projection
from tests.conftest import eventually
from tests.integration.activities_support import PAST_YEAR, group_id, project_id, start_with_world
from tests.integration.gateway_support import Running
from tests.integration.test_gateway_pages import login
from tests.integration.test_projects_commands import projects, seed  # noqa: F401  (fixture)
from tests.integration.test_projects_ingest import GOOD, departments  # noqa: F401  (fixture)

O = Role.OFFICE
PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # a PNG signature is what the gateway checks
DOCUMENT = b"%PDF-1.7\n% inspection notes\n"



async def upload(gw: Running, name: str, data: bytes, role: Role = O) -> dict[str, Any]:
    """The reference the gateway returns for an uploaded file."""
    r = await gw.client.post("/api/v1/attachments", files={"file": (name, data)}, headers=gw.as_(role))
    assert r.status_code == 201, r.text
    return r.json()


async def view(gw: Running, path: str, params: dict[str, Any], ready: Any) -> dict[str, Any]:
    """A view's answer through the gateway once `ready(answer)` holds."""
    async def probe() -> dict[str, Any] | None:
        r = await gw.client.get(f"/api/v1/views/{path}", params=params, headers=gw.as_(Role.VIEWER))
        return r.json() if r.status_code == 200 and ready(r.json()) else None

    return await eventually(probe)


async def downloaded(gw: Running, ref: dict[str, Any]) -> bytes:
    """The bytes the gateway serves for a reference."""
    r = await gw.client.get(f"/api/v1/attachments/{ref['key']}", headers=gw.as_(Role.VIEWER))
    assert r.status_code == 200, r.text
    return r.content


async def test_a_progress_report_with_a_photo_reaches_the_project_view(projects, gw):  # noqa: F811
    await seed(projects)
    photo = await upload(gw, "曼听片区施工现场.png", PHOTO)
    doc = await upload(gw, "进度说明.pdf", DOCUMENT)
    body = {"year": 2026, "code": "01", "reported_by": "jhzjj", "as_of": "2026-04-30", "percent": 30,
            "milestones_completed": ["方案设计"], "attachments": [photo, doc]}
    r = await gw.client.post("/api/v1/projects/report_progress", json=body, headers=gw.as_(O))
    assert r.status_code == 200, r.text
    assert r.json()["recorded"][0]["attachments"] == [photo, doc]

    detail = await view(gw, "projects/get", {"project_id": "project-2026-01"}, lambda d: d["reports"])
    assert detail["reports"][0]["attachments"] == [photo, doc]
    assert set(photo) == {"key", "size", "content_type", "sha256", "filename"}
    assert photo["filename"] == "曼听片区施工现场.png" and photo["content_type"] == "image/png"
    assert await downloaded(gw, photo) == PHOTO and await downloaded(gw, doc) == DOCUMENT

    twice = await gw.client.post("/api/v1/projects/report_progress", headers=gw.as_(O), json={
        **body, "as_of": "2026-05-31", "attachments": [photo, photo]})
    assert twice.status_code == 422 and "同一附件重复" in twice.text


async def test_a_department_message_may_carry_uploaded_references_and_bad_ones_are_rejected(
        projects, departments, gw):  # noqa: F811
    photo = await upload(gw, "现场.png", PHOTO, role=Role.DEPARTMENT)
    bad = await departments["jhzjj"].send({**GOOD, "message_id": "zjj-bad", "attachments": [{**photo, "size": 0}]})
    assert bad["status"] == "rejected"
    assert [(x["code"], x["field"]) for x in bad["reasons"]] == [("validation", "attachments.0.size")]
    forged = await departments["jhzjj"].send({**GOOD, "message_id": "zjj-forged",
                                              "attachments": [{**photo, "key": "0" * 64}]})
    assert forged["status"] == "rejected" and "sha256" in forged["reasons"][0]["en"]

    accepted = await departments["jhzjj"].send({**GOOD, "attachments": [photo]})
    assert accepted["status"] == "accepted", accepted
    detail = await projects.project_when("project-2026-01", lambda d: d["reports"])
    assert detail["reports"][0]["attachments"] == [photo] and detail["reports"][0]["message_id"] == GOOD["message_id"]


@pytest.fixture
async def activities(settings, nc) -> AsyncIterator[None]:
    """The activities service (with its copy of a past year's projects and delegates) and the projection."""
    service, _ = await start_with_world(settings, nc)
    projection, _ = build_projection(settings)
    await projection.start()
    yield
    await projection.stop()
    await service.stop()


async def test_an_inspection_outcome_and_a_contact_log_show_their_files(activities, gw):
    y = PAST_YEAR
    photo = await upload(gw, "视察现场.png", PHOTO)
    doc = await upload(gw, "视察记录.pdf", DOCUMENT)

    async def command(name: str, body: dict[str, Any]) -> dict[str, Any]:
        r = await gw.client.post(f"/api/v1/activities/{name}", json=body, headers=gw.as_(O))
        assert r.status_code == 200, r.text
        return r.json()

    await command("schedule_activity", {
        "activity_id": "insp-a", "year": y, "kind": "inspection", "title": "视察老旧小区改造",
        "project_ids": [project_id(y, "01")], "group_ids": [group_id(y)], "organiser": "岩温",
        "starts_at": f"{y}-05-20T09:00:00+08:00", "ends_at": f"{y}-05-20T12:00:00+08:00", "place": "曼听社区"})
    await command("record_outcome", {"activity_id": "insp-a", "minutes": "实地查看三个小区。",
                                     "findings": ["2号小区管网未开工"], "attachments": [photo, doc]})
    await command("establish_contact_point", {
        "contact_point_id": "cp-a", "project_id": project_id(y, "02"), "place": "曼景兰村委会",
        "delegate_ids": ["d1", "d2"], "established_on": f"{y}-04-10"})
    await command("log_contact", {"contact_point_id": "cp-a", "delegate_id": "d2", "contacted_on": f"{y}-06-03",
                                  "progress": "水厂主体完工", "attachments": [photo]})

    activity = await view(gw, "activities/get", {"activity_id": "insp-a"},
                          lambda a: a["activity"]["minutes"] is not None)
    assert activity["activity"]["attachments"] == [photo, doc]
    logs = await view(gw, "activities/contact_logs", {"contact_point_id": "cp-a"}, lambda a: a["items"])
    assert logs["items"][0]["attachments"] == [photo]
    assert await downloaded(gw, logs["items"][0]["attachments"][0]) == PHOTO
    assert await downloaded(gw, activity["activity"]["attachments"][1]) == DOCUMENT

    too_many = [{**photo, "filename": f"{i}.png"} for i in range(21)]
    r = await gw.client.post("/api/v1/activities/log_contact", headers=gw.as_(O), json={
        "contact_point_id": "cp-a", "delegate_id": "d2", "contacted_on": f"{y}-06-04", "progress": "通水",
        "attachments": too_many})
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "attachments"


async def test_the_web_form_uploads_the_files_of_a_contact_log(activities, gw):
    y = PAST_YEAR
    await gw.client.post("/api/v1/activities/establish_contact_point", headers=gw.as_(O), json={
        "contact_point_id": "cp-w", "project_id": project_id(y, "01"), "place": "曼听社区居委会",
        "delegate_ids": ["d1"], "established_on": f"{y}-04-10"})
    csrf = await login(gw.client, "office1")
    form = await gw.client.get("/forms/activities/log_contact")
    assert 'type="file"' in form.text and 'name="attachments"' in form.text
    r = await gw.client.post("/forms/activities/log_contact", files=[
        ("attachments", ("入户走访.png", PHOTO, "image/png")), ("attachments", ("走访记录.pdf", DOCUMENT, "application/pdf"))],
        data={"csrf_token": csrf, "contact_point_id": "cp-w", "delegate_id": "d1", "contacted_on": f"{y}-07-01",
              "public_response": "居民希望早日完工"})
    assert r.status_code == 200 and "已保存" in r.text, r.text
    logs = await view(gw, "activities/contact_logs", {"contact_point_id": "cp-w"}, lambda a: a["items"])
    files = logs["items"][0]["attachments"]
    assert [(f["filename"], f["content_type"]) for f in files] == [("入户走访.png", "image/png"),
                                                                   ("走访记录.pdf", "application/pdf")]
    assert await downloaded(gw, files[0]) == PHOTO and await downloaded(gw, files[1]) == DOCUMENT


async def test_the_gateway_refuses_references_to_files_never_uploaded(projects, gw):  # noqa: F811
    import hashlib
    await seed(projects)
    photo = await upload(gw, "现场.png", PHOTO)
    sha = hashlib.sha256(b"never uploaded").hexdigest()
    ghost = {**photo, "key": sha, "sha256": sha}
    body = {"year": 2026, "code": "01", "reported_by": "jhzjj", "as_of": "2026-04-30", "percent": 30}
    r = await gw.client.post("/api/v1/projects/report_progress", headers=gw.as_(O),
                             json={**body, "attachments": [photo, ghost]})
    assert r.status_code == 422, r.text
    assert [d["field"] for d in r.json()["details"]] == ["attachments.1.key"]
    resized = await gw.client.post("/api/v1/projects/report_progress", headers=gw.as_(O),
                                   json={**body, "attachments": [{**photo, "size": photo["size"] + 1}]})
    assert resized.status_code == 422 and resized.json()["details"][0]["field"] == "attachments.0.size"

    dept = await gw.client.post("/api/v1/ingest/progress", headers=gw.as_(Role.DEPARTMENT),
                                json={**GOOD, "message_id": "zjj-ghost", "attachments": [ghost]})
    assert dept.status_code == 422 and "未上传" in dept.json()["details"][0]["message"]
    ok = await gw.client.post("/api/v1/projects/report_progress", headers=gw.as_(O), json={**body, "attachments": [photo]})
    assert ok.status_code == 200, ok.text
