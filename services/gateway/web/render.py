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
    "last_reported_by": "/departments/{}", "dept_code": "/departments/{}",
    "co_units": "/departments/{}", "co_departments": "/departments/{}",
}
# Maps of names by id in a view's answer (`department_names`: code -> name): the ids link to their pages.
NAME_MAPS = {"department_names": "department", "delegate_names": "delegate_id"}
ATTACHMENT_URL = "/api/v1/attachments/{}"
# Bookkeeping keys of answers, never shown.
HIDDEN = {"last_event_id", "event_ids", "event_id", "position", "version", "schema_version", "message_id",
          "causation_id", "correlation_id"}


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


def is_attachment_list(field: str, value: Any) -> bool:
    """Whether a value is a list of stored files (`attachments`: items with a `key`)."""
    return (field == "attachments" and isinstance(value, list)
            and all(isinstance(v, dict) and isinstance(v.get("key"), str) and v["key"] for v in value))


def human_size(size: Any) -> str:
    """A byte count as people read it: 512 B, 12.3 KB, 4.5 MB."""
    if not isinstance(size, (int, float)) or isinstance(size, bool) or size < 0:
        return ""
    if size < 1024:
        return f"{size:.0f} B"
    return f"{size / 1024:.1f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"


def attachments(items: list[dict[str, Any]]) -> Markup:
    """Stored files as download links with name and size; photos as small thumbnails."""
    if not items:
        return Markup("")
    parts = []
    for item in items:
        href = escape(ATTACHMENT_URL.format(quote(item["key"], safe="")))
        name = escape(item.get("filename") or item["key"][:12])
        kind = str(item.get("content_type") or "")
        thumb = (f'<a href="{href}" target="_blank" rel="noopener"><img class="thumb" src="{href}" alt="{name}" '
                 f'loading="lazy"></a>' if kind.startswith("image/") else "")
        size = escape(human_size(item.get("size")))
        parts.append(f'<li>{thumb}<a href="{href}" target="_blank" rel="noopener" download="{name}">{name}</a>'
                     f'{f" <small>{size}</small>" if size else ""}</li>')
    return Markup(f'<ul class="attachments">{"".join(parts)}</ul>')


def render(value: Any, lang: str, field: str = "", depth: int = 0) -> Markup:
    """HTML of any JSON value."""
    if is_attachment_list(field, value):
        return attachments(value)
    if field in NAME_MAPS and isinstance(value, dict):
        items = "".join(f"<dt>{link(NAME_MAPS[field], k)}</dt><dd>{scalar('', v, lang)}</dd>" for k, v in value.items())
        return Markup(f'<dl class="record">{items}</dl>')
    if isinstance(value, dict):
        return record(value, lang, depth)
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            return table(value, lang, depth=depth)
        return Markup("、").join(scalar(field, v, lang) if not isinstance(v, (dict, list)) else render(v, lang, field,
                                                                                                     depth + 1)
                                for v in value)
    return scalar(field, value, lang)


def shown(data: dict[str, Any], key: str) -> bool:
    """Whether a key is shown: not bookkeeping, nor a view's `<x>_label` of a value shown (translated) as `x`."""
    return key not in HIDDEN and not (key.endswith("_label") and key[:-6] in data)


def columns_of(rows: list[dict[str, Any]]) -> list[str]:
    """The columns of a list of records, in first-seen order, hiding bookkeeping ones."""
    cols: list[str] = []
    for row in rows:
        cols += [k for k in row if k not in cols and shown(row, k)]
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
    simple = {k: v for k, v in data.items() if shown(data, k) and not _nested(v)}
    nested = {k: v for k, v in data.items() if shown(data, k) and _nested(v)}
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
