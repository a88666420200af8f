"""Any query reply as HTML: records as definition lists, lists of records as tables, ids as links."""

from __future__ import annotations

from typing import Any
from datetime import datetime
from urllib.parse import quote

from markupsafe import Markup, escape

from services.gateway.i18n import label, value_text
from shared.timeutil import CITY_TZ

# Fields whose values name something that has a page of its own.
LINKS = {
    "project_id": "/projects/{}", "project_ids": "/projects/{}", "delegate_id": "/delegates/{}",
    "delegate_ids": "/delegates/{}", "raised_by": "/delegates/{}", "group_id": "/groups/{}", "group_ids": "/groups/{}",
    "activity_id": "/activities/{}", "feedback_id": "/feedback/{}", "lead_unit": "/departments/{}",
    "main_department": "/departments/{}", "department": "/departments/{}", "reported_by": "/departments/{}",
    "co_units": "/departments/{}", "co_departments": "/departments/{}",
}
_HIDDEN = {"last_event_id", "event_ids", "event_id", "position", "version", "message_id", "causation_id",
           "correlation_id"}


def link(field: str, value: Any) -> Markup:
    """A value, linked to its page when the field names something that has one."""
    pattern = LINKS.get(field)
    text = escape(str(value))
    if pattern and isinstance(value, (str, int)) and str(value):
        return Markup(f'<a href="{escape(pattern.format(quote(str(value), safe="")))}">{text}</a>')
    return text


def scalar(field: str, value: Any, lang: str) -> Markup:
    """One cell."""
    if value is None:
        return Markup("")
    if isinstance(value, bool):
        return escape(value_text(str(value), lang))
    if isinstance(value, float):
        return escape(f"{value:g}")
    if field in LINKS:
        return link(field, value)
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        return escape(city_time(value))
    return escape(value_text(value, lang))


def city_time(value: str) -> str:
    """An ISO instant as the city's local time, to the minute (stored times are UTC)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(CITY_TZ)
    return moment.strftime("%Y-%m-%d %H:%M")


def render(value: Any, lang: str, field: str = "", depth: int = 0) -> Markup:
    """HTML of any JSON value."""
    if isinstance(value, dict):
        return record(value, lang, depth)
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            return table(value, lang, depth=depth)
        return Markup("、").join(scalar(field, v, lang) if not isinstance(v, (dict, list)) else render(v, lang, field,
                                                                                                     depth + 1)
                                for v in value)
    return scalar(field, value, lang)


def columns_of(rows: list[dict[str, Any]]) -> list[str]:
    """The columns of a list of records, in first-seen order, hiding bookkeeping ones."""
    cols: list[str] = []
    for row in rows:
        cols += [k for k in row if k not in cols and k not in _HIDDEN]
    return cols


def table(rows: list[dict[str, Any]], lang: str, columns: list[str] | None = None, depth: int = 0) -> Markup:
    """A table of records."""
    cols = columns or columns_of(rows)
    head = "".join(f"<th>{escape(label(c, lang))}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f'<td data-label="{escape(label(c, lang))}">{render(row.get(c), lang, c, depth + 1)}</td>'
                         for c in cols) + "</tr>"
        for row in rows)
    return Markup(f'<div class="table-wrap"><table class="data"><thead><tr>{head}</tr></thead>'
                  f"<tbody>{body}</tbody></table></div>")


def record(data: dict[str, Any], lang: str, depth: int = 0) -> Markup:
    """A record: its simple fields as a definition list, then each nested part under its label."""
    simple = {k: v for k, v in data.items() if k not in _HIDDEN and not _nested(v)}
    nested = {k: v for k, v in data.items() if k not in _HIDDEN and _nested(v)}
    parts = []
    if simple:
        items = "".join(f"<dt>{escape(label(k, lang))}</dt><dd>{render(v, lang, k, depth + 1)}</dd>"
                        for k, v in simple.items())
        parts.append(f'<dl class="record">{items}</dl>')
    for key, value in nested.items():
        tag = "h4" if depth == 0 else "h5"
        parts.append(f'<{tag}>{escape(label(key, lang))}</{tag}>{render(value, lang, key, depth + 1)}')
    return Markup("".join(parts))


def _nested(value: Any) -> bool:
    return isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict) for v in value))
