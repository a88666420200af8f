"""Logins, sessions with CSRF protection, throttling, API tokens, user administration, `huimin create-admin`."""

from __future__ import annotations

import re

import asyncpg
import pytest

from services.gateway.admin import create_user
from services.gateway.users import Role
from tests.integration.gateway_support import PASSWORD, running_gateway, stub_services

LIST = "/api/v1/views/projects/list"
CHECK_IN = "/api/v1/activities/check_in"


@pytest.fixture
async def gw(settings):
    async with running_gateway(settings, login_max_failures=3) as running:
        yield running


@pytest.fixture
async def stubs(nc):
    async with stub_services(nc) as s:
        yield s


async def test_api_login_sets_a_session_cookie_and_changes_need_the_csrf_token(gw, stubs):
    r = await gw.client.post("/api/v1/auth/login", json={"username": "delegate1", "password": PASSWORD})
    assert r.status_code == 200, r.text
    csrf = r.json()["csrf_token"]
    cookie = r.headers["set-cookie"]
    assert "huimin_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert (await gw.client.get(LIST)).status_code == 200, "reads need no token"
    body = {"activity_id": "act-1", "delegate_id": "d001", "code": "123456"}
    assert (await gw.client.post(CHECK_IN, json=body)).json()["code"] == "csrf"
    assert (await gw.client.post(CHECK_IN, json=body, headers={"X-CSRF-Token": "forged"})).status_code == 403
    ok = await gw.client.post(CHECK_IN, json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and stubs.last("huimin.cmd.activities.check_in")["actor"] == "user:delegate1"
    me = (await gw.client.get("/api/v1/auth/me")).json()
    assert me["user"]["role"] == "delegate" and "command activities.check_in" in me["allowed"]
    assert "command projects.register_voted_project" not in me["allowed"]
    await gw.client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert (await gw.client.get(LIST)).status_code == 401


async def test_wrong_passwords_are_throttled(gw):
    for _ in range(3):
        r = await gw.client.post("/api/v1/auth/login", json={"username": "office1", "password": "wrong-password"})
        assert r.status_code == 401 and r.json()["message"].startswith("用户名或密码错误")
    r = await gw.client.post("/api/v1/auth/login", json={"username": "office1", "password": PASSWORD})
    assert r.status_code == 429 and r.json()["code"] == "rate_limited", "even the right password waits"
    other = await gw.client.post("/api/v1/auth/login", json={"username": "leader1", "password": PASSWORD},
                                 headers={"X-Forwarded-For": "10.9.9.9"})
    assert other.status_code == 429, "the client address is throttled too (forwarded headers are not trusted)"
    unknown = await gw.client.post("/api/v1/auth/login", json={"username": "nobody", "password": "whatever1"})
    assert unknown.status_code == 429
    text = (await gw.client.get("/metrics")).text
    assert 'huimin_gateway_logins_total{outcome="throttled"}' in text


async def test_form_login_has_its_own_csrf_token_and_redirects(gw):
    page = await gw.client.get("/login?next=/calendar")
    assert page.status_code == 200 and "惠民实事监督平台" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    no_token = await gw.client.post("/login", data={"username": "office1", "password": PASSWORD})
    assert no_token.status_code == 403 and "页面已过期" in no_token.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', no_token.text).group(1)  # the form shown again
    ok = await gw.client.post("/login", data={"username": "office1", "password": PASSWORD, "csrf_token": token,
                                              "next": "/calendar"})
    assert ok.status_code == 303 and ok.headers["location"] == "/calendar"
    evil = await gw.client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', evil.text).group(1)
    away = await gw.client.post("/login", data={"username": "office1", "password": PASSWORD, "csrf_token": token,
                                                "next": "//evil.example/"})
    assert away.headers["location"] == "/", "no open redirect"
    wrong = await gw.client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', wrong.text).group(1)
    bad = await gw.client.post("/login", data={"username": "office1", "password": "nope-nope", "csrf_token": token})
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text


async def test_api_tokens_for_machine_clients(gw, stubs):
    admin = gw.as_(Role.ADMIN)
    r = await gw.client.post("/api/v1/auth/tokens", json={"label": "教育局系统", "username": "department1"},
                             headers=admin)
    token = r.json()["token"]
    assert token.startswith("hm_")
    dept = {"Authorization": f"Bearer {token}"}
    assert (await gw.client.get(LIST, headers=dept)).status_code == 200
    assert stubs.last("huimin.qry.projects.list")["actor"] == "dept:jhjyj"
    listed = (await gw.client.get("/api/v1/auth/tokens", headers=dept)).json()["items"]
    assert [t["label"] for t in listed] == ["tests", "教育局系统"] and all("token" not in t for t in listed)
    mine = next(t for t in listed if t["label"] == "教育局系统")
    refused = await gw.client.post("/api/v1/auth/tokens", json={"label": "x", "username": "admin1"}, headers=dept)
    assert refused.status_code == 403, "only an admin issues tokens for others"
    await gw.client.delete(f"/api/v1/auth/tokens/{mine['id']}", headers=admin)
    assert (await gw.client.get(LIST, headers=dept)).status_code == 401


async def test_user_administration_is_for_admins(gw):
    new = {"username": "zhang.wei", "password": "long-enough-pw", "role": "office", "display_name": "张伟"}
    assert (await gw.client.post("/api/v1/users", json=new, headers=gw.as_(Role.OFFICE))).status_code == 403
    r = await gw.client.post("/api/v1/users", json=new, headers=gw.as_(Role.ADMIN))
    assert r.status_code == 200 and r.json()["user"]["display_name"] == "张伟"
    again = await gw.client.post("/api/v1/users", json=new, headers=gw.as_(Role.ADMIN))
    assert again.status_code == 409
    bad = await gw.client.post("/api/v1/users", json={**new, "username": "x", "password": "short", "role": "boss"},
                               headers=gw.as_(Role.ADMIN))
    assert bad.status_code == 422 and {d["field"] for d in bad.json()["details"]} == {"username", "password", "role"}
    dept = await gw.client.post("/api/v1/users", json={**new, "username": "dept2", "role": "department"},
                                headers=gw.as_(Role.ADMIN))
    assert dept.status_code == 422 and dept.json()["details"][0]["field"] == "dept_code"
    off = await gw.client.post("/api/v1/users/office1/active", json={"active": False}, headers=gw.as_(Role.ADMIN))
    assert off.status_code == 200
    assert (await gw.client.get(LIST, headers=gw.as_(Role.OFFICE))).status_code == 401, "disabled: tokens revoked"
    users = (await gw.client.get("/api/v1/users", headers=gw.as_(Role.ADMIN))).json()["items"]
    assert all("password_hash" not in u for u in users)


async def test_passwords_are_stored_as_argon2id_hashes(gw, settings):
    conn = await asyncpg.connect(settings.database_url)
    try:
        stored = await conn.fetchval("SELECT password_hash FROM gateway.users WHERE username = 'office1'")
    finally:
        await conn.close()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


async def test_create_admin_works_before_the_gateway_ever_ran(settings):
    user = await create_user(settings, "root", "first-admin-pw", "admin", "管理员")
    assert user.role is Role.ADMIN
    async with running_gateway(settings) as gw:
        r = await gw.client.post("/api/v1/auth/login", json={"username": "root", "password": "first-admin-pw"})
        assert r.status_code == 200 and r.json()["user"]["display_name"] == "管理员"


async def test_bad_login_bodies_are_validation_errors_not_server_errors(gw):
    for body in ({"username": "office\u00001", "password": PASSWORD}, {"username": "office1"},
                 {"username": "office1", "password": PASSWORD, "role": "admin"}):
        r = await gw.client.post("/api/v1/auth/login", json=body)
        assert r.status_code == 422, (body, r.status_code, r.text)
        assert r.json()["code"] == "validation"
