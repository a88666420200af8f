"""Daily work: forms made from command schemas, attendance sheets, supervision with suggestions, users."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.gateway.api import store_upload
from services.gateway.i18n import command_title, pick
from services.gateway import department
from services.gateway.permissions import may, may_gateway, require_gateway
from services.gateway.users import ROLE_LABELS, Role
from services.gateway.web import forms
from services.gateway.web.context import Page, page
from services.gateway.web.detail import activity_page
from services.gateway.web.render import render, table
from shared.errors import Forbidden, HuiminError, NotFound, ValidationFailed

SERVICE_TITLES = {"projects": ("惠民实事", "Projects"), "delegates": ("代表与小组", "Delegates and groups"),
                  "activities": ("活动与联系点", "Activities and contact points"),
                  "feedback": ("意见建议", "Feedback"), "projection": ("数据视图", "Read models"),
                  "department": ("本单位报送", "Department input")}
ATTENDANCE = ("present", "absent", "excused")


def router() -> APIRouter:
    """Work routes."""
    r = APIRouter(include_in_schema=False)
    r.add_api_route("/work", work_index, methods=["GET"])
    r.add_api_route("/report/{kind}", department_form, methods=["GET"])
    r.add_api_route("/report/{kind}", department_submit, methods=["POST"])
    r.add_api_route("/forms/{group}/{name}", form_page, methods=["GET"])
    r.add_api_route("/forms/{group}/{name}", form_submit, methods=["POST"])
    r.add_api_route("/activities/{activity_id}/attendance", attendance_submit, methods=["POST"])
    r.add_api_route("/projects/{project_id}/supervise", supervise, methods=["GET"])
    r.add_api_route("/admin/users", users_page, methods=["GET"])
    r.add_api_route("/admin/users", users_submit, methods=["POST"])
    return r


async def work_index(p: Page = Depends(page)) -> HTMLResponse:
    """Every command the user may send, by service."""
    groups: dict[str, list[dict[str, str]]] = {}
    for route in p.gateway.catalog.commands():
        if may(p.user, route):
            groups.setdefault(route.group, []).append({
                "href": f"/forms/{route.group}/{route.name}", "name": route.name,
                "summary": command_title(route.group, route.name, route.summary, p.lang)})
    if may_gateway(p.user, "department.input"):
        groups["department"] = [{"href": f"/report/{kind}", "name": kind, "summary": zh if p.lang == "zh" else en}
                                for kind, (_, zh, en) in department.KINDS.items()]
    titled = [(pick(" / ".join(SERVICE_TITLES.get(g, (g, g))), p.lang), items) for g, items in groups.items()]
    return p.render("work.html", title=p.t("work"), groups=titled)


def _command(p: Page, group: str, name: str) -> Any:
    route = p.gateway.catalog.command(group, name)
    if route is None:
        raise NotFound("没有此事项 / no such command")
    if not may(p.user, route):
        raise Forbidden("无权执行此操作 / not allowed for your role")
    return route


def _prefill(request: Request) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in request.query_params:
        many = request.query_params.getlist(key)
        values[key] = "、".join(many) if len(many) > 1 else many[0]
    return values


async def form_page(request: Request, group: str, name: str, p: Page = Depends(page)) -> HTMLResponse:
    """A command's form, prefilled from the URL."""
    route = _command(p, group, name)
    values = _prefill(request)
    if "year" in route.model.model_fields:
        values.setdefault("year", str(p.year))
    fields = forms.fields_of(route.model, p.lang, values)
    return p.render("form.html", title=_title(p, route), route=route, fields=fields, doc=inspect.getdoc(route.model))


def _title(p: Page, route: Any) -> str:
    return command_title(route.group, route.name, route.summary, p.lang)


async def form_submit(request: Request, group: str, name: str, p: Page = Depends(page)) -> HTMLResponse:
    """Send a submitted form as the user; show the result, or the form again with its errors."""
    route = _command(p, group, name)
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    fields = forms.fields_of(route.model, p.lang, values)
    body, errors = await forms.payload_of(fields, form, lambda f: store_upload(request, f))
    problems: list[str] = []
    result = None
    try:
        if errors:
            raise ValidationFailed("请检查填写的内容 / please check the form",
                                   [{"field": k, "message": v} for k, v in errors.items()])
        result = await p.gateway.send(p.user, route, forms.validate(route.model, body))
    except HuiminError as exc:
        problems = [pick(exc.message, p.lang), *forms.attach_errors(fields, exc.details, p.lang)]
        if not isinstance(exc.details, list) and exc.details:
            problems.append(str(exc.details))
    status = 200 if result is not None else 422
    return p.render("form.html", status=status, title=_title(p, route), route=route, fields=fields, problems=problems,
                    result=render(result, p.lang) if result else None, result_links=_result_links(result),
                    saved=result is not None, doc=inspect.getdoc(route.model))


def _result_links(result: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Pages of what a command created or changed."""
    if not result:
        return []
    pages = {"activity_id": "/activities/{}", "project_id": "/projects/{}", "feedback_id": "/feedback/{}",
             "delegate_id": "/delegates/{}", "group_id": "/groups/{}"}
    return [(f"{key}: {value}", pattern.format(value)) for key, pattern in pages.items()
            if isinstance(value := result.get(key), str)]


def _department_form(p: Page, kind: str, values: dict[str, Any]) -> tuple[Any, list[forms.Field], str]:
    require_gateway(p.user, "department.input")
    model = department.model_of(kind)
    fields = [f for f in forms.fields_of(model, p.lang, values) if f.name != "message_id"]
    _, zh, en = department.KINDS[kind]
    return model, fields, zh if p.lang == "zh" else en


async def department_form(request: Request, kind: str, p: Page = Depends(page)) -> HTMLResponse:
    """A department's own input (progress, receipt, reply), sent as that department."""
    _, fields, title = _department_form(p, kind, _prefill(request))
    return p.render("form.html", title=title, fields=fields, action=f"/report/{kind}", name=f"ingest.{kind}")


async def department_submit(request: Request, kind: str, p: Page = Depends(page)) -> HTMLResponse:
    """Publish the form as the user's department and show the service's result."""
    form = await request.form()
    _, fields, title = _department_form(p, kind, {k: v for k, v in form.items() if isinstance(v, str)})
    body, errors = await forms.payload_of(fields, form, lambda f: store_upload(request, f))
    problems: list[str] = []
    result = None
    try:
        if errors:
            raise ValidationFailed("请检查填写的内容 / please check the form",
                                   [{"field": k, "message": v} for k, v in errors.items()])
        _, result = await department.submit(p.gateway.nc, p.user, kind, body, p.gateway.settings.rpc_timeout_s)
    except HuiminError as exc:
        problems = [pick(exc.message, p.lang), *forms.attach_errors(fields, exc.details, p.lang)]
    return p.render("form.html", status=200 if result else 422, title=title, fields=fields, problems=problems,
                    action=f"/report/{kind}", name=f"ingest.{kind}", saved=result is not None,
                    result=render(result, p.lang) if result else None, result_links=[])


async def attendance_submit(request: Request, activity_id: str, p: Page = Depends(page)) -> Response:
    """The attendance sheet of an activity: one status per delegate, sent as one record_attendance."""
    route = _command(p, "activities", "record_attendance")
    form = await request.form()
    entries = []
    for key, value in form.items():
        if key.startswith("status:") and value in ATTENDANCE:
            delegate_id = key.split(":", 1)[1]
            if form.get(f"was:{delegate_id}") == value:
                continue  # unchanged: recorded before (a change of a recorded status is a correction)
            reason = str(form.get(f"reason:{delegate_id}") or "")
            entries.append({"delegate_id": delegate_id, "status": value,
                            **({"excuse_reason": reason} if value == "excused" and reason else {})})
    walk_in = str(form.get("walk_in") or "").strip()
    if walk_in:
        entries.append({"delegate_id": walk_in, "status": "present", "walk_in": True})
    try:
        if not entries:
            raise ValidationFailed("请至少选择一位代表的出勤情况 / choose the attendance of at least one delegate")
        await p.gateway.send(p.user, route, forms.validate(route.model, {"activity_id": activity_id,
                                                                         "entries": entries}))
    except HuiminError as exc:
        return await activity_page(p, activity_id, problem=pick(exc.message, p.lang) + _detail_text(exc, p.lang),
                                   status=403 if isinstance(exc, Forbidden) else 422)
    offset = request.query_params.get("offset", "")  # back to the page of the sheet that was sent
    return RedirectResponse(f"/activities/{activity_id}?saved=1" + (f"&offset={offset}" if offset.isdigit() else ""),
                            status_code=303)


def _detail_text(exc: HuiminError, lang: str) -> str:
    if isinstance(exc.details, list):
        return "：" + "；".join(pick(str(d.get("message", d)), lang) if isinstance(d, dict) else str(d)
                               for d in exc.details)
    return ""


async def supervise(project_id: str, p: Page = Depends(page)) -> HTMLResponse:
    """Assign a project's supervision, starting from the proximity suggestion (相邻相近原则)."""
    _command(p, "delegates", "assign_supervision")
    suggestion = await p.ask("delegates", "suggest", project_id=project_id, limit=10)
    data = suggestion.data or {}
    best = {key: _top_id(data, plural, key) for plural, key in
            (("groups", "group_id"), ("leaders", "leader_id"), ("committees", "committee_id"))}
    delegates = [d.get("delegate_id") for d in data.get("delegates", [])[:3] if isinstance(d, dict)]
    assign = forms.fields_of(_command(p, "delegates", "assign_supervision").model, p.lang,
                             {"project_id": project_id, **{k: v for k, v in best.items() if v}})
    duty_route = p.route("command", "delegates", "assign_contact_duty")
    duty = forms.fields_of(duty_route.model, p.lang, {"project_id": project_id, "delegate_ids": "、".join(
        d for d in delegates if d)}) if duty_route else None
    tables = {k: table(v, p.lang) for k, v in data.items() if isinstance(v, list) and v and isinstance(v[0], dict)}
    return p.render("supervise.html", title=p.t("supervision"), subtitle=project_id, suggestion=suggestion,
                    tables=tables, assign=assign, duty=duty, project_id=project_id)


def _top_id(data: dict[str, Any], plural: str, key: str) -> str | None:
    items = data.get(plural)
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return items[0].get(key) or items[0].get("id")
    return None


async def users_page(p: Page = Depends(page)) -> HTMLResponse:
    """User administration (admin only)."""
    require_gateway(p.user, "users.manage")
    users = await p.gateway.users.list_users()
    return p.render("users.html", title=p.t("users"), users=users, roles=_roles(p))


async def users_submit(request: Request, p: Page = Depends(page)) -> HTMLResponse:
    """Create a user from the admin form."""
    require_gateway(p.user, "users.manage")
    form = await request.form()
    get = lambda k: (str(form.get(k) or "").strip() or None)  # noqa: E731
    problem, created = None, None
    try:
        created = await p.gateway.users.create_user(get("username") or "", get("password") or "", get("role") or "",
                                                    get("display_name") or "", dept_code=get("dept_code"),
                                                    delegate_id=get("delegate_id"), group_id=get("group_id"))
    except HuiminError as exc:
        problem = pick(exc.message, p.lang) + _detail_text(exc, p.lang)
    users = await p.gateway.users.list_users()
    return p.render("users.html", status=200 if created else 422, title=p.t("users"), users=users, roles=_roles(p),
                    problem=problem, created=created)


def _roles(p: Page) -> list[tuple[str, str]]:
    return [(str(r), ROLE_LABELS[r][0 if p.lang == "zh" else 1]) for r in Role]
