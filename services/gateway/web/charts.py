"""ECharts options made from query rows, whatever fields a view provides (absent fields: no chart)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from services.gateway.i18n import label, t, value_text

PALETTE = ["#c23531", "#2f4554", "#61a0a8", "#d48265", "#91c7ae", "#749f83", "#ca8622", "#bda29a", "#6e7074"]
SIGNAL = {"green": "#3ba272", "amber": "#fac858", "red": "#ee6666"}
PERCENT_FIELDS = ("percent", "progress_percent", "latest_percent", "progress")
SIGNAL_FIELDS = ("deviation", "signal", "schedule_status", "traffic_light")


def _first(row: dict[str, Any], names: tuple[str, ...]) -> Any:
    return next((row[n] for n in names if isinstance(row.get(n), (int, float, str)) and row.get(n) != ""), None)


def count_pie(rows: list[dict[str, Any]], field: str, title: str, lang: str) -> dict[str, Any] | None:
    """A ring chart of how many rows have each value of a field."""
    return pie_of(Counter(value_text(r.get(field), lang) or "—" for r in rows if field in r), title)


def pie_of(counts: dict[str, int], title: str) -> dict[str, Any] | None:
    """A ring chart of counts by name (zero counts left out)."""
    counts = Counter({k: v for k, v in counts.items() if v})
    if not counts:
        return None
    return {
        "color": PALETTE, "title": {"text": title, "left": "center", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "item", "formatter": "{b}: {c} ({d}%)"},
        "legend": {"bottom": 0, "type": "scroll"},
        "series": [{"type": "pie", "radius": ["35%", "62%"], "center": ["50%", "48%"],
                    "label": {"formatter": "{b}\n{c}"},
                    "data": [{"name": k, "value": v} for k, v in counts.most_common()]}],
    }


def count_bar(rows: list[dict[str, Any]], field: str, title: str, lang: str) -> dict[str, Any] | None:
    """A bar chart of how many rows have each value of a field."""
    counts = Counter(value_text(r.get(field), lang) or "—" for r in rows if field in r)
    return bar_of(dict(counts.most_common()), title)


def bar_of(counts: dict[str, int], title: str) -> dict[str, Any] | None:
    """A bar chart of counts by name, in the given order."""
    if not counts:
        return None
    names = list(counts)
    return {
        "color": ["#2f6fb0"], "title": {"text": title, "left": "center", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"}, "grid": {"left": 40, "right": 16, "bottom": 60, "top": 40},
        "xAxis": {"type": "category", "data": names, "axisLabel": {"interval": 0, "rotate": 30}},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [{"type": "bar", "data": [counts[n] for n in names], "barMaxWidth": 36,
                    "label": {"show": True, "position": "top"}}],
    }


def progress_bars(rows: list[dict[str, Any]], lang: str) -> dict[str, Any] | None:
    """Each project's reported progress, coloured by its schedule signal when the view gives one."""
    points = [(str(r.get("title") or r.get("code") or r.get("project_id")), float(p),
               _first(r, SIGNAL_FIELDS) or r.get("status"))
              for r in rows if isinstance(p := _first(r, PERCENT_FIELDS), (int, float))]
    if not points:
        return None
    points.reverse()  # ECharts draws the first category at the bottom
    return {
        "title": {"text": t("progress_chart", lang), "left": "center", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 8, "right": 40, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "value", "max": 100, "axisLabel": {"formatter": "{value}%"}},
        "yAxis": {"type": "category", "data": [name[:16] for name, _, _ in points]},
        "series": [{"type": "bar", "barMaxWidth": 18, "label": {"show": True, "position": "right", "formatter": "{c}%"},
                    "data": [{"value": round(p, 1), "itemStyle": {"color": SIGNAL.get(str(s), "#2f6fb0")}}
                             for _, p, s in points]}],
    }


def vote_bars(rows: list[dict[str, Any]], lang: str) -> dict[str, Any] | None:
    """The congress vote of each project: for, against, abstain, stacked."""
    voted = [r for r in rows if isinstance(r.get("votes_for"), int)]
    if not voted:
        return None
    names = [str(r.get("code") or r.get("title")) for r in voted]
    series = [{"name": label(f, lang), "type": "bar", "stack": "votes", "data": [r.get(f, 0) for r in voted],
               "barMaxWidth": 28} for f in ("votes_for", "votes_against", "votes_abstain")]
    return {
        "color": ["#c23531", "#2f4554", "#d48265"],
        "title": {"text": t("votes_chart", lang), "left": "center", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"}, "legend": {"bottom": 0},
        "grid": {"left": 40, "right": 16, "top": 40, "bottom": 50},
        "xAxis": {"type": "category", "data": names}, "yAxis": {"type": "value"}, "series": series,
    }


def progress_line(reports: list[dict[str, Any]], lang: str) -> dict[str, Any] | None:
    """A project's reported progress over business time."""
    points = sorted((str(r["as_of"]), float(p)) for r in reports
                    if r.get("as_of") and isinstance(p := _first(r, PERCENT_FIELDS), (int, float)))
    if not points:
        return None
    return {
        "color": ["#c23531"], "title": {"text": t("progress_chart", lang), "left": "center",
                                         "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"}, "grid": {"left": 44, "right": 16, "top": 40, "bottom": 30},
        "xAxis": {"type": "category", "data": [d for d, _ in points]},
        "yAxis": {"type": "value", "max": 100, "axisLabel": {"formatter": "{value}%"}},
        "series": [{"type": "line", "data": [p for _, p in points], "smooth": True, "areaStyle": {"opacity": 0.15},
                    "label": {"show": True, "formatter": "{c}%"}}],
    }


def board_charts(rows: list[dict[str, Any]], lang: str, summary: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The charts of the city board: from the board's summary of every project when it has one, else the rows.

    A paged board's rows are one page; its summary counts all the projects chosen.
    """
    if isinstance(summary, dict) and isinstance(summary.get("status"), dict):
        named = {field: {value_text(k, lang) or "—": v for k, v in (summary.get(field) or {}).items()}
                 for field in ("status", "category")}
        bands = {("—" if k == "none" else f"{k}%"): v for k, v in (summary.get("progress") or {}).items()}
        charts = [pie_of(named["status"], t("status_chart", lang)), bar_of(bands, t("progress_chart", lang)),
                  bar_of(dict(Counter(named["category"]).most_common()), t("category_chart", lang))]
        return [c for c in charts if c]
    status_field = next((f for f in (*SIGNAL_FIELDS, "status") if any(f in r for r in rows)), "status")
    charts = [count_pie(rows, status_field, t("status_chart", lang), lang), progress_bars(rows, lang),
              count_bar(rows, "category", t("category_chart", lang), lang)]
    if charts[1] is None:
        charts[1] = vote_bars(rows, lang)
    return [c for c in charts if c]
