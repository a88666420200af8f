"""The dashboard's pages: every page renders for every role, forms send commands, Chinese by default."""

from __future__ import annotations

import re

import pytest

from services.gateway.users import Role
from tests.integration.gateway_support import PASSWORD, stub_services

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
FEEDBACK = {"fb-001": {"feedback_id": "fb-001", "status": "forwarded", "content": "小区加装电梯进度慢", "raised_by": ["d001"],
                       "main_department": "jhjyj", "co_departments": []},
            "fb-002": {"feedback_id": "fb-002", "status": "forwarded", "content": "饮水工程水压不足", "raised_by": ["d009"],
                       "main_department": "jhslj", "co_departments": ["jhzjj"]}}


def feedback_detail(subject: str, body: dict) -> dict:
    """The feedback view's detail answer (rounds name the departments too)."""
    item = FEEDBACK.get(body["feedback_id"])
    if item is None:
        return {"ok": False, "error": {"code": "not_found", "message": "意见不存在 / no such feedback item"}}
    rounds = [{"round": 1, "main_department": item["main_department"], "co_departments": item["co_departments"]}]
    return {"ok": True, "as_of": "2026-06-01", "item": item, "rounds": rounds}


async def login(client, username: str) -> str:
    """Log in through the form; the CSRF token of the session's pages."""
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = await client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303, r.text
    board = await client.get("/work")
    return re.search(r'name="csrf_token" value="([^"]+)"', board.text).group(1)



@pytest.fixture
async def stubs(nc):
    async with stub_services(nc) as s:
        for subject in ("huimin.qry.projects.list", "huimin.qry.board.city"):  # the board's view, whichever exists
            s.replies[subject] = lambda subj, b: {"ok": True, "items": PROJECTS, "total": 1}
        s.replies["huimin.qry.activities.get"] = lambda subj, b: {"ok": True, **ACTIVITY}
        s.replies["huimin.qry.feedback.detail"] = feedback_detail
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
        field_names = re.findall(r"<(?:th|dt|h4|h5|label)[^>]*>\s*([a-z][a-z0-9]*_[a-z0-9_]*)\s*<", r.text)
        assert not field_names, f"{role} {path}: unlabelled {field_names}"
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
    assert '/static/echarts.common.min.js' in r.text
    # Served from the platform itself: city networks may not reach a CDN. (A bare "cdn" substring
    # check failed whenever the random CSRF token happened to contain those letters.)
    loaded = re.findall(r'<(?:script|link)[^>]*\b(?:src|href)="([^"]+)"', r.text)
    assert loaded and all(url.startswith("/") and not url.startswith("//") for url in loaded), loaded
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


async def test_a_long_attendance_sheet_comes_a_page_at_a_time(gw, stubs):
    rows = [{"delegate_id": f"d{i:05d}", "status": "invited"} for i in range(1000, 2000)]
    stubs.replies["huimin.qry.activities.get"] = lambda s, b: {
        "ok": True, **ACTIVITY, "attendance": rows, "attendance_total": 2500, "attendance_offset": 1000,
        "attendance_next_offset": 2000}
    csrf = await login(gw.client, "office1")
    page = await gw.client.get("/activities/act-001?offset=1000")
    assert stubs.last("huimin.qry.activities.get")["body"]["offset"] == 1000
    assert "第 1001–2000 人，共 2500 人" in page.text
    assert 'href="?offset=2000#attendance"' in page.text and 'href="?offset=0#attendance"' in page.text
    assert 'action="/activities/act-001/attendance?offset=1000"' in page.text
    r = await gw.client.post("/activities/act-001/attendance?offset=1000",
                             data={"csrf_token": csrf, "status:d01500": "present"})
    assert r.status_code == 303 and r.headers["location"] == "/activities/act-001?saved=1&offset=1000"
    assert stubs.last("huimin.cmd.activities.record_attendance")["body"]["entries"] == [
        {"delegate_id": "d01500", "status": "present"}]


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


async def test_a_department_opens_the_feedback_forwarded_to_it_and_no_other(gw, stubs):
    await login(gw.client, "department1")
    ledger = await gw.client.get("/feedback")
    assert ledger.status_code == 200
    mine = await gw.client.get("/feedback/fb-001")
    assert mine.status_code == 200 and "小区加装电梯进度慢" in mine.text
    assert "/report/receipt?feedback_id=fb-001" in mine.text and "/report/reply?feedback_id=fb-001" in mine.text
    other = await gw.client.get("/feedback/fb-002")
    assert other.status_code == 403 and "此意见建议未交办给本单位，无权查看" in other.text
    assert "饮水工程水压不足" not in other.text
    missing = await gw.client.get("/feedback/fb-404")
    assert missing.status_code == 404 and "意见不存在" in missing.text


async def test_a_delegate_opens_the_feedback_they_raised_and_no_other(gw, stubs):
    await login(gw.client, "delegate1")
    assert (await gw.client.get("/feedback/fb-001")).status_code == 200
    other = await gw.client.get("/feedback/fb-002")
    assert other.status_code == 403 and "只能查看本人提出的意见建议" in other.text


PHOTO = {"key": "c" * 64, "size": 52_300, "content_type": "image/png", "sha256": "c" * 64, "filename": "工地.png"}
REPORT = {"key": "d" * 64, "size": 80_000, "content_type": "application/pdf", "sha256": "d" * 64,
          "filename": "进展通报.pdf"}


async def test_attachments_show_as_links_and_thumbnails_on_project_activity_and_contact_logs(gw, stubs):
    stubs.replies["huimin.qry.projects.get"] = lambda s, b: {"ok": True, "project": PROJECTS[0], "plans": [],
                                                            "reports": [{"percent": 45.0, "attachments": [REPORT]}]}
    stubs.replies["huimin.qry.activities.contact_logs"] = lambda s, b: {"ok": True, "items": [
        {"log_id": "l1", "contact_point_id": "cp-1", "progress": "路基完成", "attachments": [PHOTO]}]}
    stubs.replies["huimin.qry.activities.get"] = lambda s, b: {
        "ok": True, **ACTIVITY, "activity": {**ACTIVITY["activity"], "attachments": [PHOTO]}}
    await login(gw.client, "office1")
    project = await gw.client.get("/projects/project-2026-01")
    assert f'href="/api/v1/attachments/{"d" * 64}"' in project.text and "进展通报.pdf" in project.text
    assert f'<img class="thumb" src="/api/v1/attachments/{"c" * 64}"' in project.text  # the project's contact logs
    activity = await gw.client.get("/activities/act-001")
    assert f'<img class="thumb" src="/api/v1/attachments/{"c" * 64}"' in activity.text and "51.1 KB" in activity.text
    record = await gw.client.get("/delegates/d001")
    assert f'src="/api/v1/attachments/{"c" * 64}"' in record.text and "工地.png" in record.text


async def test_the_record_asks_each_activity_for_the_delegates_own_attendance_row_only(gw, stubs):
    stubs.replies["huimin.qry.activities.list"] = lambda s, b: {"ok": True, "items": [ACTIVITY["activity"]],
                                                               "total": 1}
    stubs.replies["huimin.qry.activities.get"] = lambda s, b: {
        "ok": True, **ACTIVITY, "attendance": [{"delegate_id": "d001", "status": "present"}]}
    await login(gw.client, "office1")
    record = await gw.client.get("/delegates/d001")
    assert record.status_code == 200 and "老旧小区改造视察" in record.text
    asked = stubs.last("huimin.qry.activities.get")
    assert asked is not None and asked["body"]["delegate_id"] == "d001", "not the whole sheet of every activity"


async def test_the_briefing_page_asks_for_a_period_and_shows_the_views_article(gw, stubs):
    stubs.replies["huimin.qry.briefing.generate"] = lambda s, b: {
        "ok": True, "year": 2026, "markdown": "# 简报", "activities": [],
        "html": '<article class="briefing" lang="zh-CN"><h1>惠民实事监督工作简报</h1></article>'}
    await login(gw.client, "office1")
    r = await gw.client.get("/briefings?year=2026")
    assert r.status_code == 200 and "<h1>惠民实事监督工作简报</h1>" in r.text
    asked = stubs.last("huimin.qry.briefing.generate")["body"]
    assert asked["period"] == "month" and asked["day"].startswith("2026-") and "start" not in asked
    await gw.client.get("/briefings?year=2026&start=2026-04-01&end=2026-06-30")
    asked = stubs.last("huimin.qry.briefing.generate")["body"]
    assert (asked["start"], asked["end"]) == ("2026-04-01", "2026-06-30") and "period" not in asked
