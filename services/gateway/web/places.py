"""The activity calendar and the offline location view (an SVG plot of coordinates: no map tiles)."""

from __future__ import annotations

import asyncio
import calendar as cal
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from services.gateway.web.context import Page, page
from shared.timeutil import CITY_TZ

# Approximate township seats (WGS84), used only to place things that carry a township but no
# coordinates. Neighbours stay neighbours: centre (允景洪, 嘎洒), south (勐龙, 景哈), south-east
# (勐罕), east (基诺山), north (勐养, 大渡岗, 景讷, 普文, 勐旺).
TOWNSHIPS: dict[str, tuple[float, float]] = {
    "允景洪街道": (22.0145, 100.7984), "嘎洒镇": (21.955, 100.760), "勐龙镇": (21.590, 100.680),
    "景哈哈尼族乡": (21.760, 100.640), "勐罕镇": (21.850, 100.940), "基诺山基诺族乡": (22.040, 101.040),
    "勐养镇": (22.190, 100.880), "大渡岗乡": (22.330, 101.010), "景讷乡": (22.430, 100.820),
    "普文镇": (22.470, 101.020), "勐旺乡": (22.290, 100.640),
}


def router() -> APIRouter:
    """Calendar and map."""
    r = APIRouter(include_in_schema=False)
    r.add_api_route("/calendar", calendar_page, methods=["GET"])
    r.add_api_route("/map", map_page, methods=["GET"])
    return r


def _month(raw: str | None, default_year: int) -> tuple[int, int]:
    try:
        year, month = (int(x) for x in (raw or "").split("-"))
        date(year, month, 1)
        return year, month
    except ValueError:
        today = datetime.now(CITY_TZ).date()
        return (today.year, today.month) if today.year == default_year else (default_year, 4)


def _day_of(value: Any) -> date | None:
    try:
        return datetime.fromisoformat(str(value)).astimezone(CITY_TZ).date()
    except ValueError:
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            return None


async def calendar_page(request: Request, p: Page = Depends(page)) -> HTMLResponse:
    """A month of activities; each day lists what was scheduled."""
    year, month = _month(request.query_params.get("month"), p.year)
    panel = await p.ask("activities", "list", year=year, limit=1000)
    by_day: dict[date, list[dict[str, Any]]] = {}
    for act in panel.items():
        day = _day_of(act.get("starts_at"))
        if day and day.year == year and day.month == month:
            by_day.setdefault(day, []).append(act)
    weeks = [[(d, by_day.get(d, [])) for d in week] for week in cal.Calendar(firstweekday=0).monthdatescalendar(year, month)]
    prev_m = (year, month - 1) if month > 1 else (year - 1, 12)
    next_m = (year, month + 1) if month < 12 else (year + 1, 1)
    upcoming = sorted((a for a in panel.items() if a.get("starts_at")), key=lambda a: str(a["starts_at"]))
    return p.render("calendar.html", title=p.t("calendar"), year=year, month=month, weeks=weeks, panel=panel,
                    prev=f"{prev_m[0]}-{prev_m[1]:02d}", next=f"{next_m[0]}-{next_m[1]:02d}",
                    schedule=p.form_link("activities", "schedule_activity", year=year), upcoming=upcoming[:200])


def _coords(place: dict[str, Any] | None) -> tuple[float, float] | None:
    if isinstance(place, dict) and isinstance(place.get("lat"), (int, float)) and isinstance(place.get("lon"), (int, float)):
        return float(place["lat"]), float(place["lon"])
    if isinstance(place, dict) and place.get("township") in TOWNSHIPS:
        return TOWNSHIPS[place["township"]]
    return None


async def map_page(p: Page = Depends(page)) -> HTMLResponse:
    """Projects, contact points and groups plotted by coordinates on an offline SVG of the townships."""
    projects = await p.ask("projects", "list", year=p.year, limit=200)
    details = await asyncio.gather(*(p.ask("projects", "get", project_id=r["project_id"])
                                     for r in projects.items() if r.get("project_id")))
    points_panel = await p.ask("activities", "contact_points", year=p.year, limit=500)
    groups = await p.ask("delegates", "groups", year=p.year)
    markers: list[dict[str, Any]] = []
    project_at: dict[str, tuple[float, float]] = {}
    for row, one in zip(projects.items(), details, strict=False):
        info = _project_record(one.data) or row
        places = [loc for loc in info.get("locations") or [] if _coords(loc)]
        places += [{"township": t} for t in info.get("townships") or [] if t in TOWNSHIPS]
        if not places and row.get("township") in TOWNSHIPS:
            places = [{"township": row["township"]}]
        for i, loc in enumerate(places[:5]):
            lat, lon = _coords(loc)  # type: ignore[misc]
            project_at.setdefault(row["project_id"], (lat, lon))
            markers.append({"kind": "project", "lat": lat + 0.012 * i, "lon": lon, "label": row.get("code", ""),
                            "title": f"{row.get('title', '')} {loc.get('label') or ''}".strip(),
                            "href": f"/projects/{row['project_id']}"})
    for i, cp in enumerate(points_panel.items()):
        base = _coords(cp.get("location")) or project_at.get(str(cp.get("project_id")))
        if base:
            markers.append({"kind": "contact", "lat": base[0] - 0.015, "lon": base[1] + 0.015 * (1 + i % 3),
                            "label": "", "title": f"{p.t('contact_points')}: {cp.get('place', '')}",
                            "href": f"/projects/{cp.get('project_id')}"})
    for g in groups.items():
        at = _coords(g.get("location")) or TOWNSHIPS.get(str(g.get("township")))
        if at:
            markers.append({"kind": "group", "lat": at[0] + 0.02, "lon": at[1] - 0.02, "label": "",
                            "title": f"{g.get('name', '')}", "href": f"/groups/{g.get('group_id')}"})
    return p.render("map.html", title=p.t("map"), svg=plot(markers), markers=markers, panel=projects)


def _project_record(data: Any) -> dict[str, Any] | None:
    if not isinstance(data, dict):
        return None
    if "locations" in data or "townships" in data:
        return data
    return next((v for v in data.values() if isinstance(v, dict) and ("locations" in v or "townships" in v)), None)


def plot(markers: list[dict[str, Any]], width: int = 1000, height: int = 720) -> dict[str, Any]:
    """Screen positions of the townships and markers (an equirectangular plot around the city)."""
    lats = [lat for lat, _ in TOWNSHIPS.values()] + [m["lat"] for m in markers]
    lons = [lon for _, lon in TOWNSHIPS.values()] + [m["lon"] for m in markers]
    pad = 0.06
    south, north, west, east = min(lats) - pad, max(lats) + pad, min(lons) - pad, max(lons) + pad
    widen = (north - south) * 1.4 - (east - west)  # a landscape plot fits a screen better than the city's shape
    if widen > 0:
        west, east = west - widen / 2, east + widen / 2
    scale = min(width / (east - west), height / (north - south))

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return round((lon - west) * scale, 1), round((north - lat) * scale, 1)

    towns = [{"name": name, "x": xy(*at)[0], "y": xy(*at)[1]} for name, at in TOWNSHIPS.items()]
    placed = [{**m, "x": xy(m["lat"], m["lon"])[0], "y": xy(m["lat"], m["lon"])[1]} for m in markers]
    return {"width": round((east - west) * scale), "height": round((north - south) * scale), "towns": towns,
            "markers": placed}
