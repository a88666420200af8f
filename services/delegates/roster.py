"""The office's roster file (CSV or XLSX) as rows, and one row as a RegisterDelegate command.

Reading the file happens where the file is (the CLI, the gateway); turning rows into commands
happens in the service, so every row gets its own verdict. Column names: docs/delegates.md.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pydantic

from shared.contracts.delegates import RegisterDelegate, RosterRow
from shared.errors import ValidationFailed
from shared.rpc import validation_details

# Canonical field -> accepted column headers (the field name itself is always accepted).
COLUMNS: dict[str, tuple[str, ...]] = {
    "delegate_id": ("代表编号", "编号"),
    "name": ("姓名",),
    "gender": ("性别",),
    "ethnicity": ("民族",),
    "level": ("代表层级", "层级", "级别"),
    "constituency": ("选区", "选区乡镇"),
    "occupation": ("职业",),
    "work_unit": ("工作单位", "单位"),
    "phone": ("联系电话", "电话", "手机"),
    "term_start": ("任期开始", "任期开始日期"),
    "home_township": ("居住乡镇", "居住地乡镇"),
    "home_label": ("居住地址",),
    "home_lat": ("居住地纬度",),
    "home_lon": ("居住地经度",),
    "work_township": ("工作乡镇", "工作地乡镇"),
    "work_label": ("工作地址",),
    "work_lat": ("工作地纬度",),
    "work_lon": ("工作地经度",),
}
REQUIRED = ("delegate_id", "name", "gender", "ethnicity", "level", "constituency", "term_start")
LEVELS = {"全国": "national", "省": "province", "州": "prefecture", "自治州": "prefecture", "市": "city",
          "县": "city", "乡镇": "township", "乡": "township", "镇": "township", "街道": "township"}
GENDERS = {"男": "男", "女": "女", "m": "男", "f": "女", "male": "男", "female": "女"}
# Chinese for the pydantic errors a roster row can cause (the English message follows it).
_ZH = {"missing": "必填", "string_pattern_mismatch": "格式不正确", "string_too_short": "不能为空或太短",
       "string_too_long": "太长", "literal_error": "取值不在允许范围内", "greater_than_equal": "超出范围",
       "less_than_equal": "超出范围", "value_error": "有误"}
_HEADER_NOISE = re.compile(r"[\s*＊]|[（(]必填[）)]")
_BY_HEADER = {h: f for f, hs in COLUMNS.items() for h in (f, *hs)}


@dataclass(frozen=True)
class Roster:
    """The rows of a roster file, and the columns it had that are not used."""

    rows: list[RosterRow]
    ignored_columns: list[str]


def read_roster(data: bytes, filename: str) -> Roster:
    """The rows of a CSV (UTF-8 or GB18030) or XLSX roster, keyed by canonical field names."""
    suffix = filename.lower().rsplit(".", 1)[-1]
    if suffix == "csv":
        table = _csv_table(data)
    elif suffix in ("xlsx", "xlsm"):
        table = _xlsx_table(data)
    else:
        raise ValidationFailed("名册须为 CSV 或 XLSX 文件 / the roster must be a CSV or XLSX file", {"file": filename})
    return _rows(table)


def _csv_table(data: bytes) -> list[tuple[int, list[str]]]:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationFailed("无法识别文件编码 / the file is neither UTF-8 nor GB18030")
    return [(i, row) for i, row in enumerate(csv.reader(io.StringIO(text)), start=1)]


def _xlsx_table(data: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook  # only needed for XLSX

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 (any unreadable file gets the same answer)
        raise ValidationFailed("无法读取 XLSX 文件 / cannot read the XLSX file", str(exc)) from exc
    try:
        sheet = book.worksheets[0]
        return [(i, [_cell(v) for v in row]) for i, row in enumerate(sheet.iter_rows(values_only=True), start=1)]
    finally:
        book.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1000:
        return str(int(value))  # a phone number stored as a number
    return str(value)


def _rows(table: list[tuple[int, list[str]]]) -> Roster:
    table = [(i, cells) for i, cells in table if any(c.strip() for c in cells)]
    if not table:
        raise ValidationFailed("名册为空 / the roster is empty")
    _, header = table[0]
    fields = [column_field(h) for h in header]
    missing = [f for f in REQUIRED if f not in fields]
    if missing:
        raise ValidationFailed("名册缺少必需的列 / required columns are missing",
                               [{"field": f, "message": f"缺少“{COLUMNS[f][0]}”列 / missing column {f}"} for f in missing])
    ignored = [h for h, f in zip(header, fields, strict=True) if f is None and h.strip()]
    rows = []
    for number, cells in table[1:]:
        values = {f: (cells[k].strip() or None) if k < len(cells) else None for k, f in enumerate(fields) if f}
        rows.append(RosterRow(row=number, fields=values))
    return Roster(rows=rows, ignored_columns=ignored)


def duplicate_rows(rows: Sequence[RosterRow]) -> dict[int, int]:
    """Row number -> the earlier row with the same delegate id."""
    first: dict[str, int] = {}
    dups = {}
    for r in rows:
        key = canonical(r.fields).get("delegate_id") or ""
        if key and key in first:
            dups[r.row] = first[key]
        first.setdefault(key, r.row)
    return dups


def column_field(header: str) -> str | None:
    """The field a column header stands for (Chinese or English, see COLUMNS), if any."""
    return _BY_HEADER.get(_HEADER_NOISE.sub("", header).lower())


def canonical(fields: dict[str, str | None]) -> dict[str, str | None]:
    """A row keyed by field names, whether it came keyed by headers (the gateway's upload) or by fields."""
    out: dict[str, str | None] = {}
    for header, value in fields.items():
        name = column_field(header)
        if name is not None and out.get(name) is None:
            out[name] = value.strip() if isinstance(value, str) and value.strip() else None
    return out


def row_command(row_fields: dict[str, str | None]) -> RegisterDelegate:
    """The registration a roster row asks for; every problem of the row in one ValidationFailed."""
    fields = canonical(row_fields)
    problems: list[dict[str, Any]] = []
    data: dict[str, Any] = {k: fields.get(k) for k in
                            ("delegate_id", "name", "ethnicity", "constituency", "phone") if fields.get(k)}
    data["occupation"] = fields.get("occupation") or ""
    data["work_unit"] = fields.get("work_unit") or ""
    for key, table, zh in (("level", LEVELS, "代表层级应为 全国/省/州/市/乡镇"), ("gender", GENDERS, "性别应为 男/女")):
        raw = (fields.get(key) or "").strip()
        norm = raw.removesuffix("人大代表").removesuffix("级").lower()
        value = table.get(norm) or (norm if norm in table.values() else None)
        if value is None:
            problems.append({"field": key, "message": f"{zh}，而不是“{raw}” / invalid {key} {raw!r}"})
        data[key] = value
    data["term_start"] = _date(fields.get("term_start"), problems)
    for kind in ("home", "work"):
        data[kind] = _location(kind, fields, problems)
    try:
        command = RegisterDelegate.model_validate({k: v for k, v in data.items() if v is not None})
    except pydantic.ValidationError as exc:
        noted = {p["field"] for p in problems}
        problems += [{"field": _field(d["field"]), "message": f"{_ZH.get(d['type'], '有误')} / {d['message']}"}
                     for d in validation_details(exc) if _field(d["field"]) not in noted]
        command = None
    if problems or command is None:
        raise ValidationFailed("名册行有误 / invalid roster row", problems)
    return command


def _field(path: str) -> str:
    """The roster column a contract field path comes from (home.lat -> home_lat)."""
    head, _, rest = path.partition(".")
    return f"{head}_{rest}" if head in ("home", "work") and rest else head


def _date(raw: str | None, problems: list[dict[str, Any]]) -> date | None:
    if not raw:
        return None  # the contract reports it missing
    match = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", raw.strip())
    try:
        if match:
            return date(*map(int, match.groups()))
    except ValueError:
        pass
    problems.append({"field": "term_start", "message": f"日期格式应为 2022-01-10，而不是“{raw}” / invalid date {raw!r}"})
    return None


def _location(kind: str, fields: dict[str, str | None], problems: list[dict[str, Any]]) -> dict[str, Any] | None:
    township, lat, lon = (fields.get(f"{kind}_{k}") for k in ("township", "lat", "lon"))
    if not township:
        if lat or lon:
            problems.append({"field": f"{kind}_township", "message": "有坐标时须填写乡镇 / a township goes with coordinates"})
        return None
    location: dict[str, Any] = {"township": township, "label": fields.get(f"{kind}_label")}
    for key, raw in (("lat", lat), ("lon", lon)):
        if raw:
            try:
                location[key] = float(raw)
            except ValueError:
                problems.append({"field": f"{kind}_{key}", "message": f"坐标应为数字，而不是“{raw}” / not a number"})
    return location
