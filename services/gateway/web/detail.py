"""Pages of one thing: project (supervision view), group, delegate record, department, activity, feedback item."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from services.gateway import department as department_input
from services.gateway.i18n import label
from services.gateway.permissions import may_gateway
from services.gateway.web import charts
from services.gateway.web.context import Page, links, page, section
from services.gateway.web.render import render, table
from shared.errors import NotFound

SUPERVISION_QUERIES = (("supervision", "get"), ("delegates", "supervision"))
RECORD_QUERIES = (("record", "get"), ("performance", "delegate"))
GROUP_RECORD_QUERIES = (("board", "group"), ("record", "rank"))
_PROJECT_ID = re.compile(r"^project-(\d{4})-([A-Za-z0-9\-]{1,20})$")


def router() -> APIRouter:
    """Detail pages."""
    r = APIRouter(include_in_schema=False)
    r.add_api_route("/projects/{project_id}", project, methods=["GET"])
    r.add_api_route("/groups/{group_id}", group, methods=["GET"])
    r.add_api_route("/delegates/{delegate_id}", delegate, methods=["GET"])
    r.add_api_route("/departments/{code}", department, methods=["GET"])
    r.add_api_route("/activities/{activity_id}", activity, methods=["GET"])
    r.add_api_route("/feedback/{feedback_id}", feedback_item, methods=["GET"])
    return r


def _find_list(data: Any, *keys: str) -> list[dict[str, Any]]:
    """The first list of records under one of the keys, searching one level of nesting too."""
    if not isinstance(data, dict):
        return []
    for key in keys:
        if isinstance(data.get(key), list):
            return data[key]
    for value in data.values():
        if isinstance(value, dict):
            found = _find_list(value, *keys)
            if found:
                return found
    return []


async def project(project_id: str, p: Page = Depends(page)) -> HTMLResponse:
    """The supervision view of one project: plan, progress, supervision, activities, feedback, timeline."""
    match = _PROJECT_ID.match(project_id)
    if not match:
        raise NotFound("没有此项目 / no such project")
    year, code = int(match.group(1)), match.group(2)
    info, supervision, acts, points, logs, fb, timeline = await asyncio.gather(
        p.ask("projects", "get", project_id=project_id), p.first(*SUPERVISION_QUERIES, project_id=project_id),
        p.ask("activities", "list", project_id=project_id), p.ask("activities", "contact_points", project_id=project_id),
        p.ask("activities", "contact_logs", project_id=project_id), p.ask("feedback", "list", project_id=project_id),
        p.ask("timeline", "get", ref=project_id))
    reports = _find_list(info.data, "progress_reports", "reports", "progress")
    line = charts.progress_line(reports, p.lang) if reports else None
    actions = (links(p.form_link("activities", "schedule_activity", year=year, kind="inspection",
                                 project_ids=project_id), "安排视察/调研" if p.lang == "zh" else "Schedule an inspection")
               + links(f"/projects/{project_id}/supervise" if p.can("delegates", "assign_supervision") else None,
                       p.t("supervision") + " · " + p.t("suggestion"))
               + links(p.form_link("projects", "report_progress", year=year, code=code,
                                   reported_by=p.user.dept_code), p.pick("通报进展 / Report progress"))
               + links(p.form_link("activities", "establish_contact_point", project_id=project_id),
                       p.t("contact_points"))
               + links(p.form_link("feedback", "submit_feedback", year=year, project_id=project_id,
                                   raised_by=p.user.delegate_id), p.t("feedback")))
    title = (info.data or {}).get("title") or _find_title(info.data) or project_id
    sections = [
        section(p.t("details"), info, render(info.data, p.lang) if info.ok else None, links=actions,
                charts=[line] if line else []),
        section(p.t("supervision"), supervision, render(supervision.data, p.lang) if supervision.ok else None),
        section(p.t("calendar"), acts, table(acts.items(), p.lang) if acts.items() else None),
        section(p.t("contact_points"), points, table(points.items(), p.lang) if points.items() else None),
        section(p.t("contact_logs"), logs, table(logs.items(), p.lang) if logs.items() else None),
        section(p.t("feedback"), fb, table(fb.items(), p.lang) if fb.items() else None),
        section(p.t("timeline"), timeline, render(timeline.items(), p.lang) if timeline.items() else None),
    ]
    return p.render("sections.html", title=title, subtitle=project_id, sections=sections)


def _find_title(data: Any) -> str | None:
    if isinstance(data, dict):
        for value in data.values():
            if isinstance(value, dict) and isinstance(value.get("title"), str):
                return value["title"]
    return None


GROUP_PAGE_MEMBERS = 1000  # member ids shown on a group's page (the answer says member_count of all)


async def group(group_id: str, p: Page = Depends(page)) -> HTMLResponse:
    """A delegate group: members, supervised projects, activities, its performance when the view exists."""
    groups, acts, record = await asyncio.gather(
        p.ask("delegates", "groups", year=p.year, group_id=group_id, members=GROUP_PAGE_MEMBERS),
        p.ask("activities", "list", group_id=group_id),
        p.first(*GROUP_RECORD_QUERIES, group_id=group_id, year=p.year))
    mine = next((g for g in groups.items() if g.get("group_id") == group_id), None)
    actions = links(p.form_link("activities", "schedule_activity", year=p.year, group_ids=group_id),
                    p.t("calendar")) + links(p.form_link("delegates", "add_group_member", group_id=group_id),
                                             p.t("members"))
    title = (mine or {}).get("name") or group_id
    sections = [
        section(p.t("details"), groups, render(mine, p.lang) if mine else None, links=actions),
        section(p.t("record"), record, render(record.data, p.lang) if record.ok else None,
                exports=p.export_links(record, group_id=group_id, year=p.year)),
        section(p.t("calendar"), acts, table(acts.items(), p.lang) if acts.items() else None),
    ]
    return p.render("sections.html", title=title, subtitle=group_id, sections=sections)


async def delegate(delegate_id: str, p: Page = Depends(page)) -> HTMLResponse:
    """A delegate's performance record (printable, for 述职)."""
    person, record, acts, logs, fb = await asyncio.gather(
        p.ask("delegates", "get", delegate_id=delegate_id), p.first(*RECORD_QUERIES, delegate_id=delegate_id,
                                                                      year=p.year),
        p.ask("activities", "list", delegate_id=delegate_id, year=p.year),
        p.ask("activities", "contact_logs", delegate_id=delegate_id, year=p.year),
        p.ask("feedback", "list", raised_by=delegate_id, year=p.year))
    if person.status == "forbidden":
        return p.render("sections.html", status=403, title=p.t("forbidden"),
                        sections=[section(p.t("record"), person, None)])
    participation = await _participation(p, delegate_id, acts.items())
    mine = p.user.delegate_id == delegate_id
    actions = (links(p.form_link("activities", "log_contact", delegate_id=delegate_id) if mine else None,
                     p.pick("联系记录 / Log a contact"))
               + links(p.form_link("activities", "check_in", delegate_id=delegate_id) if mine else None,
                       p.pick("签到 / Check in")))
    name = _find_name(person.data) or delegate_id
    sections = [
        section(p.t("details"), person, render(person.data, p.lang) if person.ok else None, links=actions),
        section(p.t("record"), record, render(record.data, p.lang) if record.ok else None,
                exports=p.export_links(record, delegate_id=delegate_id, year=p.year)),
        section(p.pick("活动参与 / Activities"), acts,
                table(participation, p.lang) if participation else None, anchor="activities"),
        section(p.t("contact_logs"), logs,
                table(logs.items(), p.lang) if logs.items() else None),
        section(p.t("feedback"), fb, table(fb.items(), p.lang) if fb.items() else None),
    ]
    return p.render("sections.html", title=f"{name} · {p.t('record')}", subtitle=f"{delegate_id} · {p.year}",
                    sections=sections, printable=True)


async def _participation(p: Page, delegate_id: str, activities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The delegate's activities with their own attendance in each (the performance view will supersede this)."""
    details = await asyncio.gather(*(p.ask("activities", "get", activity_id=a["activity_id"], delegate_id=delegate_id)
                                     for a in activities[:50] if a.get("activity_id")))
    rows = []
    for act, one in zip(activities, details, strict=False):
        entry = next((e for e in _find_list(one.data, "attendance") if e.get("delegate_id") == delegate_id), {})
        rows.append({"activity_id": act.get("activity_id"), "title": act.get("title"), "kind": act.get("kind"),
                     "starts_at": act.get("starts_at"), "attendance": entry.get("status") or "—"})
    return rows


def _find_name(data: Any) -> str | None:
    if isinstance(data, dict):
        if isinstance(data.get("name"), str):
            return data["name"]
        for value in data.values():
            if isinstance(value, dict) and isinstance(value.get("name"), str):
                return value["name"]
    return None


async def department(code: str, p: Page = Depends(page)) -> HTMLResponse:
    """What concerns one department: its projects and the feedback forwarded to it."""
    depts, projects, fb = await asyncio.gather(
        p.ask("projects", "departments"), p.first(("board", "department"), ("projects", "list"), lead_unit=code,
                                                  dept_code=code, year=p.year),
        p.ask("feedback", "list", department=code, year=p.year))
    mine = next((d for d in depts.items() if d.get("code") == code), None)
    actions = links(p.form_link("projects", "report_progress", year=p.year, reported_by=code),
                    p.pick("通报进展 / Report progress"))
    if p.user.dept_code == code:
        actions += [(title if p.lang == "zh" else en, f"/report/{kind}")
                    for kind, (_, title, en) in department_input.KINDS.items()]
    rows = projects.items()
    sections = [
        section(p.t("details"), depts, render(mine, p.lang) if mine else None, links=actions),
        section(p.t("projects"), projects, table(rows, p.lang) if rows else None,
                charts=[c for c in [charts.progress_bars(rows, p.lang)] if c],
                exports=p.export_links(projects, lead_unit=code, year=p.year)),
        section(p.t("feedback"), fb, table(fb.items(), p.lang) if fb.items() else None,
                exports=p.export_links(fb, department=code, year=p.year)),
    ]
    title = (mine or {}).get("name") or (mine or {}).get("full_name") or code
    return p.render("sections.html", title=title, subtitle=code, sections=sections)


async def activity(activity_id: str, p: Page = Depends(page)) -> HTMLResponse:
    """One activity: details, attendance (recorded here by staff), opinions, outcome."""
    return await activity_page(p, activity_id)


async def activity_page(p: Page, activity_id: str, problem: str | None = None, status: int = 200) -> HTMLResponse:
    """The activity page, with a problem to show above the attendance sheet if any."""
    offset = p.request.query_params.get("offset", "")
    one = await p.ask("activities", "get", activity_id=activity_id, offset=int(offset) if offset.isdigit() else 0)
    data = one.data or {}
    attendance = _find_list(data, "attendance")
    actions = (links(p.form_link("activities", "record_outcome", activity_id=activity_id),
                     p.pick("活动成果 / Outcome"))
               + links(p.form_link("activities", "issue_check_in_code", activity_id=activity_id),
                       p.pick("签到码 / Check-in code"))
               + links(p.form_link("activities", "invite_delegates", activity_id=activity_id), p.pick("邀请 / Invite"))
               + links(p.form_link("activities", "check_in", activity_id=activity_id,
                                   delegate_id=p.user.delegate_id) if p.user.delegate_id else None,
                       p.pick("签到 / Check in")))
    info = data.get("activity") if isinstance(data.get("activity"), dict) else data
    if info is not data and isinstance(data.get("attachments"), list):  # files of the outcome, wherever answered
        info = {**info, "attachments": data["attachments"]}
    sections = [
        section(p.t("details"), one, render(info, p.lang) if one.ok else None, links=actions),
        section(p.pick("意见 / Opinions"), one,
                table(_find_list(data, "opinions"), p.lang) if _find_list(data, "opinions") else None),
    ]
    return p.render("activity.html", status=status, title=(info or {}).get("title") or activity_id, subtitle=activity_id,
                    problem=problem, saved=p.request.query_params.get("saved") == "1",
                    sections=sections, attendance=attendance, activity_id=activity_id,
                    can_record=p.can("activities", "record_attendance"), found=one.ok, note=one.error,
                    sheet=_sheet_pages(data, len(attendance)))


def _sheet_pages(data: dict[str, Any], shown: int) -> dict[str, Any] | None:
    # A city-wide meeting's sheet comes a page at a time: say which rows are shown, link the others.
    total, start = data.get("attendance_total"), data.get("attendance_offset") or 0
    if not isinstance(total, int) or total <= shown:
        return None
    after = data.get("attendance_next_offset")
    return {"first": start + 1, "last": start + shown, "total": total,
            "next": f"?offset={after}#attendance" if isinstance(after, int) else None,
            "previous": f"?offset={max(0, start - max(shown, 1))}#attendance" if start else None}


async def feedback_item(feedback_id: str, p: Page = Depends(page)) -> HTMLResponse:
    """One feedback item with every round: forwarding, answers, ratings (a department: what was forwarded to it)."""
    one = await p.ask("feedback", "detail", feedback_id=feedback_id)
    if one.status in ("forbidden", "not_found"):
        return p.render("sections.html", status=403 if one.status == "forbidden" else 404, title=p.t("feedback"),
                        subtitle=feedback_id, sections=[section(p.t("details"), one, None)])
    actions = (links(p.form_link("feedback", "forward_feedback", feedback_id=feedback_id), p.pick("交办 / Forward"))
               + links(p.form_link("feedback", "rate_feedback", feedback_id=feedback_id,
                                   rated_by=p.user.delegate_id), p.pick("评价 / Rate")))
    if one.ok and p.user.dept_code and may_gateway(p.user, "department.input"):
        actions += [(title if p.lang == "zh" else en, f"/report/{kind}?{urlencode({'feedback_id': feedback_id})}")
                    for kind, (_, title, en) in department_input.KINDS.items() if kind in ("receipt", "reply")]
    data = one.data or {}
    rounds = [r for r in data.get("rounds") or [] if isinstance(r, dict)]
    rest = {k: v for k, v in data.items() if k != "rounds"} if rounds else data
    # One box per round: a round's receipts and answers are records of their own, too wide for table cells.
    sections = [section(p.t("details"), one, render(rest, p.lang) if one.ok else None, links=actions)] + [
        section(f"{label('rounds', p.lang)} · {r.get('round') or n}", one, render(r, p.lang))
        for n, r in enumerate(rounds, 1)]
    return p.render("sections.html", title=p.t("feedback"), subtitle=feedback_id, sections=sections)


__all__ = ["activity_page", "router"]
