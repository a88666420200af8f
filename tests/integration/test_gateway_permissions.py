"""The permission matrix, role × route, enforced on every generated route; personal data; the policy in words."""

from __future__ import annotations

from typing import Any

import pytest

from services.gateway.catalog import Route
from services.gateway.examples import model_example
from services.gateway.permissions import ALL, NOT_EXPOSED, Concerns, rule_for
from services.gateway.users import Role
from tests.integration.gateway_support import SCOPES, stub_services

# Someone else's id for each kind of own-scope, valid for the fields' patterns.
OTHERS = {"delegate_id": "d999", "dept_code": "jhslj", "group_id": "other-2026"}



@pytest.fixture
async def stubs(nc):
    async with stub_services(nc) as s:
        yield s


async def _send(gw, route: Route, role: Role, body: dict[str, Any]):
    path = f"/api/v1{route.path}"
    return await gw.client.post(path, json=body, headers=gw.as_(role))


def _with(route: Route, body: dict[str, Any], field: str, value: str) -> dict[str, Any]:
    annotation = str(route.model.model_fields[field].annotation)
    alias = route.model.model_fields[field].alias or field
    return {**body, alias: [value] if annotation.startswith("list") else value}


async def test_every_role_on_every_route(gw, stubs):
    """Denied roles get 403 before anything is sent; allowed ones reach the service as themselves; scoped
    ones only for their own records (filled in when left out)."""
    failures: list[str] = []
    routes = gw.gateway.catalog.routes
    assert len(routes) > 20
    for route in routes:
        # The example's attachment names no uploaded file (the gateway would refuse it before any check
        # of roles matters here; references are tested in test_attachments_flow.py).
        body = {**model_example(route.model), **({"attachments": []} if "attachments" in route.model.model_fields
                                                  else {})}
        rule = rule_for(route)
        for role in Role:
            party = gw.parties[role]
            stubs.calls.clear()
            where = f"{role} {route.kind} {route.group}.{route.name}"
            if role not in rule:
                r = await _send(gw, route, role, body)
                if r.status_code != 403 or r.json()["code"] != "forbidden" or stubs.calls:
                    failures.append(f"{where}: expected 403, got {r.status_code}")
                continue
            scope = rule[role]
            if scope is ALL:
                r = await _send(gw, route, role, body)
                if r.status_code != 200 or not stubs.calls or stubs.calls[-1]["actor"] != party.user.actor:
                    failures.append(f"{where}: expected 200 as {party.user.actor}, got {r.status_code} {r.text[:200]}")
                continue
            mine = getattr(party.user, scope.attribute)
            if isinstance(scope, Concerns):  # the reply decides: it must name the user's own value
                failures += await _check_reply_scope(gw, stubs, route, role, body, scope, mine)
                continue
            own = await _send(gw, route, role, _with(route, body, scope.field, mine))
            other = await _send(gw, route, role, _with(route, body, scope.field, OTHERS[scope.attribute]))
            sent = [c["body"].get(route.model.model_fields[scope.field].alias or scope.field) for c in stubs.calls]
            if own.status_code != 200 or other.status_code != 403 or len(sent) != 1 or mine not in str(sent[0]):
                failures.append(f"{where}: own {own.status_code}, other's {other.status_code}, sent {sent}")
            if not route.model.model_fields[scope.field].is_required():
                stubs.calls.clear()
                left_out = {k: v for k, v in body.items() if k != scope.field}
                filled = await _send(gw, route, role, left_out)
                if filled.status_code != 200 or mine not in str(stubs.calls[-1]["body"].get(scope.field)):
                    failures.append(f"{where}: an own field left out is not filled in ({filled.status_code})")
    assert not failures, "\n".join(failures)


async def _check_reply_scope(gw, stubs, route: Route, role: Role, body: dict[str, Any], scope: Concerns,
                             mine: str) -> list[str]:
    """A reply naming the user's own value reaches them; one naming someone else's is withheld (403)."""
    outcomes = []
    for value in (mine, OTHERS[scope.attribute]):
        stubs.replies[route.subject] = lambda s, b, v=value: {"ok": True, "item": {f: [v] for f in scope.fields}}
        outcomes.append((await _send(gw, route, role, body)).status_code)
    del stubs.replies[route.subject]
    return [] if outcomes == [200, 403] else [f"{role} {route.path}: own reply, other's reply gave {outcomes}"]


async def test_a_department_opens_feedback_forwarded_to_it_only(gw, stubs):
    items = {"fb-1": {"main_department": "jhjyj", "co_departments": []},
             "fb-2": {"main_department": "jhslj", "co_departments": []},
             "fb-3": {"main_department": "jhslj", "co_departments": ["jhjyj"]}}
    rounds = {"fb-4": [{"round": 1, "main_department": "jhjyj", "co_departments": []},
                       {"round": 2, "main_department": "jhslj", "co_departments": []}]}

    def detail(subject: str, body: dict[str, Any]) -> dict[str, Any]:
        fid = body["feedback_id"]
        if fid not in items and fid not in rounds:
            return {"ok": False, "error": {"code": "not_found", "message": "意见不存在 / no such feedback item"}}
        item = items.get(fid, {"main_department": "jhslj", "co_departments": []})
        return {"ok": True, "item": {"feedback_id": fid, **item}, "rounds": rounds.get(fid, [])}

    stubs.replies["huimin.qry.feedback.detail"] = detail
    dept = gw.as_(Role.DEPARTMENT)
    got = {fid: await gw.client.get("/api/v1/views/feedback/detail", params={"feedback_id": fid}, headers=dept)
           for fid in ("fb-1", "fb-2", "fb-3", "fb-4", "fb-9")}
    assert {fid: r.status_code for fid, r in got.items()} == {"fb-1": 200, "fb-2": 403, "fb-3": 200, "fb-4": 200,
                                                              "fb-9": 404}
    assert got["fb-1"].json()["item"]["feedback_id"] == "fb-1"
    assert got["fb-2"].json()["code"] == "forbidden" and "未交办给本单位" in got["fb-2"].json()["message"]
    assert "jhslj" not in got["fb-2"].text  # nothing of the item leaks
    office = await gw.client.get("/api/v1/views/feedback/detail", params={"feedback_id": "fb-2"},
                                 headers=gw.as_(Role.OFFICE))
    assert office.status_code == 200


async def test_queries_by_get_are_guarded_the_same_way(gw, stubs):
    for route in gw.gateway.catalog.queries():
        if not route.scalar_fields:
            continue
        denied = [role for role in Role if role not in rule_for(route)]
        for role in denied:
            r = await gw.client.get(f"/api/v1{route.path}", params=model_example(route.model), headers=gw.as_(role))
            assert r.status_code == 403, f"{role} GET {route.path}: {r.status_code}"


async def test_policy_in_words(gw, stubs):
    """The rules the issue states, checked on concrete requests (independent of how the matrix is written)."""
    catalog = gw.gateway.catalog

    def allowed(role: Role, kind: str, group: str, name: str) -> bool:
        route = catalog.find(kind, group, name)
        assert route is not None, f"{kind} {group}.{name} exists"
        return role in rule_for(route)

    for route in catalog.commands():
        assert Role.VIEWER not in rule_for(route), f"viewers send nothing: {route.path}"
        assert Role.ADMIN in rule_for(route) or route.key == ("feedback", "sweep_deadlines")
    for role in (Role.DELEGATE, Role.DEPARTMENT, Role.LEADER, Role.COMMITTEE):
        assert not allowed(role, "command", "projects", "register_voted_project")
        assert not allowed(role, "command", "delegates", "register_delegate")
    assert allowed(Role.OFFICE, "command", "activities", "record_attendance")
    assert not allowed(Role.DELEGATE, "command", "activities", "record_attendance")
    assert not allowed(Role.DELEGATE, "query", "delegates", "list"), "delegates see their own record only"
    assert not allowed(Role.DEPARTMENT, "query", "delegates", "list")
    assert allowed(Role.LEADER, "query", "delegates", "suggest")
    # A delegate logs their own contacts, never someone else's.
    contact = {"contact_point_id": "cp-1", "contacted_on": "2026-05-02", "progress": "路基已完成"}
    mine = await gw.client.post("/api/v1/activities/log_contact", json={**contact, "delegate_id": "d001"},
                                headers=gw.as_(Role.DELEGATE))
    theirs = await gw.client.post("/api/v1/activities/log_contact", json={**contact, "delegate_id": "d002"},
                                  headers=gw.as_(Role.DELEGATE))
    assert (mine.status_code, theirs.status_code) == (200, 403)
    # A department's view of the feedback ledger is narrowed to itself.
    r = await gw.client.get("/api/v1/views/feedback/list", params={"year": 2026}, headers=gw.as_(Role.DEPARTMENT))
    assert r.status_code == 200 and stubs.last("huimin.qry.feedback.list")["body"]["department"] == "jhjyj"
    r = await gw.client.get("/api/v1/views/feedback/list", params={"department": "jhslj"},
                            headers=gw.as_(Role.DEPARTMENT))
    assert r.status_code == 403
    for group, name in NOT_EXPOSED:
        r = await gw.client.post(f"/api/v1/{group}/{name}", json={}, headers=gw.as_(Role.ADMIN))
        assert r.status_code == 404, f"{group}.{name} is internal to its service"


async def test_personal_data_only_for_office_and_admin(gw, stubs):
    row = {"delegate_id": "d001", "name": "玉香", "phone": "13800000000", "home": {"township": "嘎洒镇"},
           "personal": {"id_card": "5328..."}, "groups": [{"group_id": "g1", "phone": "x"}]}
    stubs.replies["huimin.qry.delegates.list"] = lambda s, b: {"ok": True, "items": [row]}
    stubs.replies["huimin.qry.delegates.get"] = lambda s, b: {"ok": True, "delegate": row}
    for role in Role:
        if role in (Role.DELEGATE, Role.DEPARTMENT):
            continue
        item = (await gw.client.get("/api/v1/views/delegates/list", headers=gw.as_(role))).json()["items"][0]
        if role in (Role.ADMIN, Role.OFFICE):
            assert item == row, role
        else:
            assert item == {"delegate_id": "d001", "name": "玉香", "groups": [{"group_id": "g1"}]}, role
    own = await gw.client.get("/api/v1/views/delegates/get", params={"delegate_id": "d001"},
                              headers=gw.as_(Role.DELEGATE))
    assert own.status_code == 200 and "phone" not in own.json()["delegate"]
    other = await gw.client.get("/api/v1/views/delegates/get", params={"delegate_id": "d002"},
                                headers=gw.as_(Role.DELEGATE))
    assert other.status_code == 403


def test_scopes_of_the_test_users_cover_every_own_rule():
    """Every own-scope of the matrix names an attribute the test users have (so the matrix test checks it)."""
    attributes = {a for scope in SCOPES.values() for a in scope}
    assert attributes >= set(OTHERS)
