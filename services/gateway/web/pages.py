"""Dashboard routes: login, language, the city board and the list pages; details and forms elsewhere."""

from __future__ import annotations

import typing
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from services.gateway import auth
from services.gateway.errors import GatewayError, status_of
from services.gateway.i18n import LANGS, lang_of, pick, t
from services.gateway.users import Role
from services.gateway.web import charts, detail, places, work
from services.gateway.web.context import LANG_COOKIE, TEMPLATES, Page, Panel, links, page, section
from services.gateway.web.render import render, table
from shared.contracts.feedback import Status as FeedbackStatus
from shared.errors import HuiminError
from shared.timeutil import local_date

BOARD_QUERIES = (("board", "city"), ("projects", "list"))
BRIEFING_QUERIES = (("briefing", "generate"), ("briefings", "list"))
RANK_QUERIES = (("record", "rank"),)
BOARD_FILTERS = ("category", "lead_unit", "status", "township")


def router() -> APIRouter:
    """Every page of the dashboard."""
    r = APIRouter(include_in_schema=False)
    r.add_api_route("/login", login_form, methods=["GET"])
    r.add_api_route("/login", login_submit, methods=["POST"])
    r.add_api_route("/logout", logout, methods=["POST"])
    r.add_api_route("/lang/{lang}", switch_lang, methods=["GET"])
    r.add_api_route("/", home, methods=["GET"])
    r.add_api_route("/board", board, methods=["GET"])
    r.add_api_route("/groups", groups, methods=["GET"])
    r.add_api_route("/delegates", delegates, methods=["GET"])
    r.add_api_route("/feedback", feedback_ledger, methods=["GET"])
    r.add_api_route("/briefings", briefings, methods=["GET"])
    r.include_router(detail.router())
    r.include_router(places.router())
    r.include_router(work.router())
    return r


def _lang(request: Request) -> str:
    return lang_of(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


async def login_form(request: Request, next: str = "/", error: str = "") -> HTMLResponse:
    """The login form, with its double-submit CSRF token."""
    lang = _lang(request)
    token = auth.new_token()
    response = TEMPLATES.TemplateResponse(request, "login.html", {
        "lang": lang, "t": lambda k: t(k, lang), "next": _safe_next(next), "error": error, "csrf": token})
    auth.set_login_csrf(response, token, auth.gateway_of(request).gw.cookie_secure)
    return response


async def login_submit(request: Request, username: str = Form(""), password: str = Form(""),
                       csrf_token: str = Form(""), next: str = Form("/")) -> Response:
    """Check the form and the password; on success go where the user wanted to go."""
    lang = _lang(request)
    try:
        auth.check_login_csrf(request, csrf_token)
        response = RedirectResponse(_safe_next(next), status_code=303)
        await auth.login(request, response, username.strip(), password)
        response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/")
        return response
    except HuiminError as exc:
        again = await login_form(request, next=next, error=pick(exc.message, lang))
        again.status_code = status_of(exc)
        return again


async def logout(request: Request, p: Page = Depends(page)) -> Response:
    """End the session."""
    response = RedirectResponse("/login", status_code=303)
    await auth.logout(request, response)
    return response


async def switch_lang(request: Request, lang: str, next: str = "/") -> Response:
    """Remember the language and go back."""
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, lang if lang in LANGS else "zh", max_age=365 * 86400, samesite="lax", path="/")
    return response


def _safe_next(target: str) -> str:
    # Only paths of this site: an open redirect would let a link send users elsewhere after login.
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target else "/"


async def home(p: Page = Depends(page)) -> Response:
    """Each role's starting page."""
    if p.user.role in (Role.DELEGATE, Role.GROUP_LEADER) and p.user.delegate_id:
        return RedirectResponse(f"/delegates/{p.user.delegate_id}", status_code=303)
    if p.user.role is Role.DEPARTMENT and p.user.dept_code:
        return RedirectResponse(f"/departments/{p.user.dept_code}", status_code=303)
    return RedirectResponse("/board", status_code=303)


async def board(request: Request, p: Page = Depends(page)) -> HTMLResponse:
    """City board: charts of status and progress, filters, the project table, exports."""
    filters = {k: request.query_params.get(k) or None for k in BOARD_FILTERS}
    offset = request.query_params.get("offset", "")
    panel = await p.first(*BOARD_QUERIES, year=p.year, limit=500, offset=int(offset) if offset.isdigit() else None,
                          **filters)
    rows = panel.items()
    summary = (panel.data or {}).get("summary")
    options = await _filter_options(p, rows, summary if isinstance(summary, dict) else {})
    columns = [c for c in ("project_id", "title", "category", "lead_unit", "status", "deviation", "percent",
                           "expected_percent", "progress_percent", "last_report_on", "group_id", "votes_for",
                           "updated_at")
               if any(c in r for r in rows)]
    project_table = table(rows, p.lang, columns=columns or None) if rows else None
    return p.render("board.html", panel=panel, charts=charts.board_charts(rows, p.lang, summary),
                    project_table=project_table, filters=filters, options=options,
                    export_links=p.export_links(panel, year=p.year, **filters), totals=_totals(panel),
                    summary=_summary(panel), more=_next_page(request, panel))


def _next_page(request: Request, panel: Panel) -> str | None:
    # A paged board (city board: at most 500 projects a page) links to its next page.
    after = (panel.data or {}).get("next_offset")
    return f"?{urlencode({**request.query_params, 'offset': after})}" if isinstance(after, int) else None


async def _filter_options(p: Page, rows: list[dict[str, Any]],
                          summary: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    departments = await p.ask("projects", "departments")
    names = {d.get("code"): d.get("short_name") or d.get("name") for d in departments.items()}
    opts: dict[str, list[tuple[str, str]]] = {}
    for field in BOARD_FILTERS:
        counted = summary.get(field) if isinstance(summary.get(field), dict) else {}  # every project, not one page
        values = sorted({str(r[field]) for r in rows if r.get(field)} | {k for k, n in counted.items() if n})
        opts[field] = [(v, names.get(v, v) if field == "lead_unit" else v) for v in values]
    return opts


def _totals(panel: Panel) -> dict[str, Any]:
    data = panel.data or {}
    numbers = {k: v for k, v in data.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
               and k not in ("year", "limit", "offset", "next_offset")}
    counts = data.get("counts") if isinstance(data.get("counts"), dict) else {}
    return numbers | {k: v for k, v in counts.items() if isinstance(v, int)}


def _summary(panel: Panel) -> Any:
    # Other sections of the answer; the counts are the tiles and the city board's summary is charted.
    data = panel.data or {}
    return {k: v for k, v in data.items() if isinstance(v, dict) and k not in ("counts", "summary")} or None


async def groups(p: Page = Depends(page)) -> HTMLResponse:
    """Delegate groups of the year, with members and their supervised projects."""
    panel = await p.ask("delegates", "groups", year=p.year)
    rows = [{**g, "group_id": g.get("group_id")} for g in panel.items()]
    summary = [{k: (v.get("label") or v.get("township")) if isinstance(v, dict) else v for k, v in g.items()
                if not isinstance(v, list) or k == "projects"} for g in rows]  # member_count, not member ids
    rank = await p.first(*RANK_QUERIES, year=p.year, limit=500)
    sections = [section(p.t("groups"), panel, table(summary, p.lang) if summary else None,
                        links=links(p.form_link("delegates", "form_group", year=p.year), p.t("forms"))),
                section(p.t("record"), rank, table(rank.items(), p.lang) if rank.items() else None,
                        exports=p.export_links(rank, year=p.year))]
    return p.render("sections.html", title=p.t("groups"), sections=sections)


async def delegates(request: Request, p: Page = Depends(page)) -> HTMLResponse:
    """The delegate roster (personal data only for the office)."""
    panel = await p.ask("delegates", "list", year=p.year, township=request.query_params.get("township"),
                        group_id=request.query_params.get("group_id"), limit=500)
    actions = links(p.form_link("delegates", "register_delegate"), p.t("forms")) + links(
        "/import/delegates/import_roster" if p.can("delegates", "import_roster") else None, p.t("import"))
    sections = [section(p.t("delegates"), panel, render(panel.items(), p.lang) if panel.items() else None,
                         links=actions, exports=p.export_links(panel, year=p.year))]
    return p.render("sections.html", title=p.t("delegates"), sections=sections)


async def feedback_ledger(request: Request, p: Page = Depends(page)) -> HTMLResponse:
    """The feedback ledger with filters and exports; departments and delegates see their own."""
    params = {k: request.query_params.get(k) or None for k in ("status", "project_id", "department", "overdue")}
    panel = await p.ask("feedback", "list", year=p.year, limit=500, **params)
    rows = panel.items()
    chart = charts.count_pie(rows, "status", p.t("status_chart"), p.lang) if rows else None
    sections = [section(p.t("feedback"), panel, table(rows, p.lang) if rows else None, charts=[chart] if chart else [],
                         links=links(p.form_link("feedback", "submit_feedback", year=p.year), p.t("forms")),
                         exports=p.export_links(panel, year=p.year, **params))]
    return p.render("sections.html", title=p.t("feedback"), sections=sections, filters=params,
                    filter_names=["status", "project_id", "department"],
                    filter_choices={"status": list(typing.get_args(FeedbackStatus))})


async def briefings(request: Request, p: Page = Depends(page)) -> HTMLResponse:
    """The office's briefing of a period (`start`-`end`, else `period` around `day`; default: this month)."""
    asked = {k: request.query_params.get(k) or None for k in ("period", "day", "start", "end")}
    params = asked if asked["start"] and asked["end"] else {
        "period": asked["period"] or "month", "day": asked["day"] or _day_in(p.year).isoformat()}
    panel = await p.first(*BRIEFING_QUERIES, year=p.year, **params)
    article = (panel.data or {}).get("html")
    # The briefing view writes its article as HTML with every value escaped (services/projection/briefing.py).
    html = Markup(article) if isinstance(article, str) else render(panel.data, p.lang) if panel.ok else None
    sections = [section(p.t("briefings"), panel, html, exports=p.export_links(panel, year=p.year, **params))]
    return p.render("sections.html", title=p.t("briefings"), sections=sections, filters=params,
                    filter_names=["period", "day", "start", "end"], filter_choices={"period": ["week", "month"]})


def _day_in(year: int) -> date:
    """Today in Jinghong if it falls in the year, else the year's last day."""
    today = local_date(datetime.now(UTC))
    return today if today.year == year else date(year, 12, 31)


async def error_page(request: Request, exc: HuiminError, status: int | None = None) -> Response:
    """An error as a page; not being logged in sends to the login form."""
    code = status or status_of(exc)
    if code == 401:
        return RedirectResponse(f"/login?{urlencode({'next': request.url.path})}", status_code=303)
    lang = _lang(request)
    user = await auth.optional_user(request)
    message = pick(exc.message, lang)
    if user:
        return Page(request, user).render("error.html", status=code, message=message, code=code)
    context = {"lang": lang, "t": lambda k: t(k, lang), "message": message, "code": code, "csrf": "", "page": None,
               "user": None}
    return TEMPLATES.TemplateResponse(request, "error.html", context, status_code=code)


__all__ = ["GatewayError", "error_page", "router"]
