"""CSV and XLSX of any query's rows: the city board, performance records, the feedback ledger, ..."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from services.gateway.i18n import label

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def every_page(ask: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]], payload: dict[str, Any],
                     query: type[Any]) -> dict[str, Any]:
    """The reply with the items of all its pages: a paged reply (`next_offset`) is asked again until the last.

    An export holds every row, not the page a screen shows; the further pages are asked at the query's
    largest `limit` unless the request chose one.
    """
    reply = await ask(payload)
    if not isinstance(reply.get("next_offset"), int):
        return reply
    largest = query.model_json_schema().get("properties", {}).get("limit", {}).get("maximum")
    limit = payload.get("limit") or largest or reply.get("limit")
    body = {**payload, "limit": limit} if limit else dict(payload)
    items, offset = list(reply.get("items") or []), int(payload.get("offset") or 0)
    while isinstance(after := reply.get("next_offset"), int) and after > offset:
        body, offset = {**body, "offset": after}, after
        reply = await ask(body)
        items += reply.get("items") or []
    return {**reply, "items": items, "offset": int(payload.get("offset") or 0), "next_offset": None}


def rows_of(reply: dict[str, Any]) -> list[dict[str, Any]]:
    """The table of a reply: its `items`, else its first list of records, else the reply as one row."""
    if isinstance(reply.get("items"), list):
        return [r if isinstance(r, dict) else {"value": r} for r in reply["items"]]
    for value in reply.values():
        if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            return value
    return [reply]


def flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """One level of columns: nested records become dotted names, lists are joined."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = "、".join(_cell(v) for v in value)
        else:
            flat[name] = value
    return flat


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items())
    return "" if value is None else str(value)


def table(reply: dict[str, Any], lang: str) -> tuple[list[str], list[list[Any]]]:
    """(header labels, rows) of a reply, columns in first-seen order."""
    rows = [flatten(r) for r in rows_of(reply)]
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    return [label(c, lang) for c in columns], [[row.get(c) for c in columns] for row in rows]


def to_csv(reply: dict[str, Any], lang: str) -> bytes:
    """UTF-8 CSV with a byte-order mark, so spreadsheet programs read the Chinese right."""
    header, rows = table(reply, lang)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([[_cell(v) for v in row] for row in rows])
    return ("\ufeff" + out.getvalue()).encode()


def to_xlsx(reply: dict[str, Any], lang: str, sheet: str) -> bytes:
    """An XLSX workbook with one sheet: a bold header row, then the rows."""
    header, rows = table(reply, lang)
    book = Workbook()
    ws = book.active
    ws.title = sheet[:31]
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([v if isinstance(v, (int, float)) and not isinstance(v, bool) else _cell(v) for v in row])
    for i, name in enumerate(header, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = max(10, min(40, len(str(name)) * 2 + 4))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
