"""The dashboard's pages: every page renders for every role, forms send commands, Chinese by default."""

from __future__ import annotations

import re

import pytest

from services.gateway.users import Role
from tests.integration.gateway_support import PASSWORD, running_gateway, stub_services

PAGES = ["/board", "/groups", "/groups/gasa-2026", "/delegates", "/delegates/d001", "/departments/jhjyj",
         "/projects/project-2026-01", "/projects/project-2026-01/supervise", "/activities/act-001", "/calendar",
         "/calendar?month=2026-05", "/feedback", "/feedback/fb-001", "/briefings", "/map", "/work",
         "/forms/activities/schedule_activity", "/admin/users", "/report/reply"]
PROJECTS = [{"project_id": "project-2026-01", "year": 2026, "code": "01", "title": "允景洪街道老旧小区改造提升",
             "category": "城乡建设", "lead_unit": "jhzjj", "status": "in_progress", "percent": 45.0,
             "votes_for": 268, "votes_against": 4, "votes_abstain": 6}]
ACTIVITY = {"activity": {"activity_id": "act-001", "title": "老旧小区改造视察", "kind": "inspection"},
            "attendance": [{"delegate_id": "d001", "status": "invited"}, {"delegate_id": "d002", "status": None}],
            "opinions": []}


async def login(client, username: str) -> str:
    """Log in through the form; the CSRF token of the session's pages."""
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = await client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303, r.text
    board = await client.get("/work")
    return re.search(r'name="csrf_token" value="([^"]+)"', board.text).group(1)


@pytest.fixture
async def gw(settings):
    async with running_gateway(settings) as running:
        yield running


@pytest.fixture
async def stubs(nc):
    async with stub_services(nc) as s:
        for subject in ("huimin.qry.projects.list", "huimin.qry.board.city"):  # the board's view, whichever exists
            s.replies[subject] = lambda subj, b: {"ok": True, "items": PROJECTS, "total": 1}
        s.replies["huimin.qry.activities.get"] = lambda subj, b: {"ok": True, **ACTIVITY}
        yield s


async def test_anonymous_visitors_are_sent_to_the_login_form(gw):
    r = await gw.client.get("/board")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fboard"


_STAFF_ONLY = {"/admin/users", "/projects/project-2026-01/supervise", "/forms/activities/schedule_activity"}
REFUSED = {
    Role.ADMIN: set(), Role.OFFICE: {"/admin/users"}, Role.LEADER: _STAFF_ONLY, Role.COMMITTEE: _STAFF_ONLY,
    Role.VIEWER: _STAFF_ONLY, Role.GROUP_LEADER: {"/admin/users", "/projects/project-2026-01/supervise"},
    Role.DELEGATE: _STAFF_ONLY, Role.DEPARTMENT: _STAFF_ONLY | {"/delegates/d001"},
}
for _role in REFUSED:  # a department's own input form is for departments only
    if _role is not Role.DEPARTMENT:
        REFUSED[_role] = REFUSED[_role] | {"/report/reply"}


@pytest.mark.parametrize("role", list(Role))
async def test_every_page_renders_for_every_role(gw, stubs, role):
    await login(gw.client, f"{role}1")
    refused = set()
    for path in PAGES:
        r = await gw.client.get(path)
        assert r.status_code in (200, 403), f"{role} {path}: {r.status_code}"
        assert "惠民实事监督平台" in r.text
        if r.status_code == 403:
            refused.add(path)
    assert refused == REFUSED[role]


async def test_board_draws_charts_from_the_projects_and_links_exports(gw, stubs):
    await login(gw.client, "office1")
    r = await gw.client.get("/board?year=2026&category=城乡建设")
    assert r.status_code == 200
    assert r.text.count('class="chart"') >= 2 and "项目状态" in r.text and "项目进度" in r.text
    assert 'href="/projects/project-2026-01"' in r.text
    assert "list.xlsx?year=2026&amp;category=%E5%9F%8E" in r.text or "city.xlsx?year=2026&amp;category=%E5%9F%8E" in r.text
    asked = stubs.last("huimin.qry.board.city") or stubs.last("huimin.qry.projects.list")
    assert asked["body"]["category"] == "城乡建设"
    assert '/static/echarts.common.min.js' in r.text and "cdn" not in r.text.lower()
    js = await gw.client.get("/static/echarts.common.min.js")
    assert js.status_code == 200 and len(js.content) > 100_000


async def test_english_on_request(gw, stubs):
    await login(gw.client, "office1")
    r = await gw.client.get("/lang/en?next=/board")
    assert r.status_code == 303
    page = await gw.client.get("/board")
    assert "City board" in page.text and "Project status" in page.text


async def test_a_form_sends_its_command_as_the_user_and_shows_field_errors(gw, stubs):
    csrf = await login(gw.client, "office1")
    form = await gw.client.get("/forms/activities/schedule_activity?kind=inspection&project_ids=project-2026-01")
    assert 'value="project-2026-01"' in form.text and 'option value="inspection" selected' in form.text
    data = {"csrf_token": csrf, "year": "2026", "kind": "inspection", "title": "视察老旧小区改造",
            "project_ids": "project-2026-01", "group_ids": "gasa-2026、yunjinghong-2026", "organiser": "常委会办公室",
            "starts_at": "2026-05-12T09:00", "ends_at": "2026-05-12T11:30", "place": "曼听社区"}
    r = await gw.client.post("/forms/activities/schedule_activity", data=data)
    assert r.status_code == 200 and "已保存" in r.text, r.text
    sent = stubs.last("huimin.cmd.activities.schedule_activity")
    assert sent["actor"] == "user:office1"
    assert sent["body"]["starts_at"] == "2026-05-12T09:00:00+08:00"
    assert sent["body"]["group_ids"] == ["gasa-2026", "yunjinghong-2026"]
    bad = await gw.client.post("/forms/activities/schedule_activity", data={**data, "title": "x", "place": ""})
    assert bad.status_code == 422 and "has-error" in bad.text
    forged = await gw.client.post("/forms/activities/schedule_activity", data={**data, "csrf_token": "forged"})
    assert forged.status_code == 403


async def test_attendance_sheet_records_every_status_at_once(gw, stubs):
    csrf = await login(gw.client, "office1")
    page = await gw.client.get("/activities/act-001")
    assert 'name="status:d001"' in page.text
    r = await gw.client.post("/activities/act-001/attendance", data={
        "csrf_token": csrf, "status:d001": "present", "status:d002": "excused", "reason:d002": "出差"})
    assert r.status_code == 303
    body = stubs.last("huimin.cmd.activities.record_attendance")["body"]
    assert body == {"activity_id": "act-001", "entries": [
        {"delegate_id": "d001", "status": "present"},
        {"delegate_id": "d002", "status": "excused", "excuse_reason": "出差"}]}


async def test_delegates_start_on_their_own_record_and_cannot_open_others(gw, stubs):
    await login(gw.client, "delegate1")
    home = await gw.client.get("/")
    assert home.headers["location"] == "/delegates/d001"
    other = await gw.client.get("/delegates/d002")
    assert other.status_code == 403
    assert not [c for c in stubs.calls if "d002" in str(c["body"])], "nothing was asked about d002"
    mine = await gw.client.get("/delegates/d001")
    assert mine.status_code == 200 and "window.print()" in mine.text
    assert "/forms/activities/log_contact?delegate_id=d001" in mine.text
