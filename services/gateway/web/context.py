"""What every dashboard page shares: templates, the language, the user, and asking the services."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from services.gateway import auth
from services.gateway.catalog import Route
from services.gateway.i18n import label, lang_of, pick, t, value_text
from services.gateway.permissions import may, may_gateway
from services.gateway.users import ROLE_LABELS, Role, User
from services.gateway.web.render import render, table
from shared.errors import Forbidden, HuiminError, NotFound
from shared.timeutil import CITY_TZ

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))
TEMPLATES.env.globals.update(label=label, render=render, table=table, value_text=value_text, pick=pick)
TEMPLATES.env.filters["json"] = lambda v: Markup(json.dumps(v, ensure_ascii=False, default=str)
                                                 .replace("<", "\\u003c").replace(">", "\\u003e")
                                                 .replace("&", "\\u0026").replace("'", "\\u0027"))
LANG_COOKIE = "huimin_lang"


@dataclass
class Panel:
    """The answer of one query for a page: data, or why there is none."""

    route: Route | None
    data: dict[str, Any] | None = None
    error: str | None = None
    status: str = "ok"  # ok | missing (no such query yet) | forbidden | not_found | error

    @property
    def ok(self) -> bool:
        """Whether there is data to show."""
        return self.data is not None

    def items(self) -> list[dict[str, Any]]:
        """The reply's `items`, or its first list of records."""
        if not self.data:
            return []
        if isinstance(self.data.get("items"), list):
            return self.data["items"]
        return next((v for v in self.data.values() if isinstance(v, list) and v and isinstance(v[0], dict)), [])


class Page:
    """One page request: who asks, in which language, and the queries it makes."""

    def __init__(self, request: Request, user: User) -> None:
        self.request, self.user = request, user
        self.gateway = auth.gateway_of(request)
        self.lang = lang_of(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))

    def t(self, key: str) -> str:
        """An interface text in the page's language."""
        return t(key, self.lang)

    def pick(self, text: str) -> str:
        """The page's half of a bilingual "中文 / English" text."""
        return pick(text, self.lang)

    @property
    def year(self) -> int:
        """The year asked for, else the configured default, else this year (city time)."""
        raw = self.request.query_params.get("year", "")
        if raw.isdigit():
            return int(raw)
        return self.gateway.gw.default_year or datetime.now(CITY_TZ).year

    def route(self, kind: str, group: str, name: str) -> Route | None:
        """A route of the catalog the user may use, if any."""
        route = self.gateway.catalog.find(kind, group, name)  # type: ignore[arg-type]
        return route if route and may(self.user, route) else None

    def can(self, group: str, command: str) -> bool:
        """Whether the user may send the command."""
        return self.route("command", group, command) is not None

    async def ask(self, group: str, name: str, **params: Any) -> Panel:
        """Ask a query; a missing view, a refusal or a failure becomes a panel saying so."""
        route = self.gateway.catalog.query(group, name)
        if route is None:
            return Panel(None, status="missing", error=self.t("not_available"))
        if not may(self.user, route):
            return Panel(route, status="forbidden", error=self.t("forbidden"))
        body = {k: v for k, v in params.items() if v not in (None, "") and k in route.model.model_fields}
        try:
            return Panel(route, await self.gateway.send(self.user, route, body))
        except Forbidden as exc:
            return Panel(route, status="forbidden", error=pick(exc.message, self.lang))
        except NotFound as exc:
            return Panel(route, status="not_found", error=pick(exc.message, self.lang))
        except HuiminError as exc:
            return Panel(route, status="error", error=pick(exc.message, self.lang))

    async def first(self, *candidates: tuple[str, str], **params: Any) -> Panel:
        """The first of several queries that exists (richer views replace simpler ones as they appear)."""
        panel = Panel(None, status="missing", error=self.t("not_available"))
        for group, name in candidates:
            panel = await self.ask(group, name, **params)
            if panel.status != "missing":
                return panel
        return panel

    def form_link(self, group: str, command: str, **prefill: Any) -> str | None:
        """The URL of a command's form with prefilled values, if the user may send it."""
        if not self.can(group, command):
            return None
        query = urlencode({k: v for k, v in prefill.items() if v is not None}, doseq=True)
        return f"/forms/{group}/{command}" + (f"?{query}" if query else "")

    def export_links(self, panel: Panel, **params: Any) -> dict[str, str]:
        """CSV and XLSX links of a panel's query with its parameters."""
        if panel.route is None or not panel.ok:
            return {}
        query = urlencode({k: v for k, v in params.items() if v not in (None, "")} | {"lang": self.lang})
        base = f"/api/v1/export/{panel.route.group}/{panel.route.name}"
        return {"csv": f"{base}.csv?{query}", "xlsx": f"{base}.xlsx?{query}"}

    def nav(self) -> list[tuple[str, str]]:
        """The menu of the user's role."""
        role = self.user.role
        items = []
        if role in (Role.DELEGATE, Role.GROUP_LEADER) and self.user.delegate_id:
            items.append((f"/delegates/{self.user.delegate_id}", "my_record"))
        if role is Role.DEPARTMENT and self.user.dept_code:
            items.append((f"/departments/{self.user.dept_code}", "departments"))
        if role not in (Role.DELEGATE, Role.DEPARTMENT):
            items += [("/board", "board"), ("/groups", "groups"), ("/delegates", "delegates")]
        items += [("/calendar", "calendar"), ("/feedback", "feedback")]
        if role not in (Role.DELEGATE, Role.DEPARTMENT):
            items += [("/briefings", "briefings")]
        items += [("/map", "map"), ("/work", "work")]
        if may_gateway(self.user, "users.manage"):
            items.append(("/admin/users", "users"))
        return items

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        """A page in the layout."""
        return TEMPLATES.TemplateResponse(self.request, template, {
            "page": self, "user": self.user, "lang": self.lang, "t": self.t, "csrf": auth.csrf_token_of(self.request),
            "role_label": ROLE_LABELS[self.user.role][0 if self.lang == "zh" else 1], "today": date.today(),
            **context}, status_code=status)


async def page(request: Request) -> Page:
    """Dependency: the page of a logged-in user (401 becomes a redirect to the login form); CSRF on POST."""
    return Page(request, await auth.current_user(request))


def links(url: str | None, text: str) -> list[tuple[str, str]]:
    """A one-link list when the URL exists (the user may use it), else none."""
    return [(text, url)] if url else []


def section(title: str, panel: Panel, html: Any, *, links: list[tuple[str, str]] | None = None,
            exports: dict[str, str] | None = None, charts: list[dict[str, Any]] | None = None,
            anchor: str = "") -> dict[str, Any]:
    """One box of a page: its content, or the panel's reason for having none."""
    return {"title": title, "html": html, "note": None if html else (panel.error or None), "links": links or [],
            "exports": exports or {}, "charts": charts or [], "status": panel.status, "anchor": anchor}
