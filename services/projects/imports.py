"""Reading CSV/XLSX files of departments and vote results into commands, row by row (pure, no I/O).

Row numbers are the spreadsheet's: the header is row 1, the first data row is row 2. Columns are
found by their header (Chinese or English, see docs/projects.md); unknown columns are ignored.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

import openpyxl
import pydantic

from services.projects.rules import Problems, refuse
from shared.contracts.projects import RegisterDepartment, RegisterVotedProject
from shared.errors import ValidationFailed

MAX_ROWS = 1000

# field -> (required, header aliases); headers are compared without spaces, with ASCII brackets, lowercased.
DEPARTMENT_COLUMNS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "code": (True, ("代码", "部门代码", "单位代码", "code")),
    "full_name": (True, ("名称", "全称", "部门名称", "单位名称", "name", "full_name")),
    "short_name": (True, ("简称", "short_name")),
}
PROJECT_COLUMNS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "code": (True, ("编号", "项目编号", "code")),
    "title": (True, ("项目名称", "名称", "title")),
    "category": (True, ("类别", "项目类别", "category")),
    "description": (False, ("项目内容", "建设内容", "description")),
    "townships": (False, ("乡镇", "乡镇(街道)", "所在乡镇", "townships")),
    "coordinates": (False, ("坐标", "经纬度", "coordinates")),
    "budget_wan": (False, ("预算(万元)", "预算", "budget_wan")),
    "lead_unit": (True, ("牵头单位", "牵头责任单位", "lead_unit")),
    "co_units": (False, ("配合单位", "co_units")),
    "votes_for": (True, ("赞成", "赞成票", "votes_for")),
    "votes_against": (True, ("反对", "反对票", "votes_against")),
    "votes_abstain": (True, ("弃权", "弃权票", "votes_abstain")),
    "voted_on": (False, ("票决日期", "voted_on")),
}

_LIST_SEP = re.compile(r"[、,，;；\n]+")
_POINT_SEP = re.compile(r"[;；\n]+")
_COORD_SEP = re.compile(r"[,，\s]+")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")


class RowError(Exception):
    """A row that cannot become a command, with its coded problems."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__(problems)
        self.problems = problems


def _file_error(code: str, zh: str, en: str) -> ValidationFailed:
    return refuse(ValidationFailed, code, zh, en, "file")  # type: ignore[return-value]


def read_table(file_name: str, content: bytes) -> list[list[Any]]:
    """The rows of a CSV (UTF-8 or GB18030) or of the first sheet of an XLSX, header first."""
    suffix = file_name.lower().rsplit(".", 1)[-1]
    if suffix == "csv":
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = content.decode("gb18030", errors="replace")  # Excel in China saves CSV as GBK
        return [list(r) for r in csv.reader(io.StringIO(text))]
    if suffix == "xlsx":
        try:
            book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
            book.close()
            return rows
        except Exception as exc:  # noqa: BLE001 (any unreadable workbook is the sender's problem)
            raise _file_error("unreadable_file", "无法读取该 XLSX 文件", f"cannot read the XLSX file ({exc!r})") from exc
    raise _file_error("unsupported_format", "只支持 .csv 和 .xlsx 文件", "only .csv and .xlsx files are supported")


def _header_key(cell: Any) -> str:
    text = str(cell or "").translate(str.maketrans("（）", "()"))
    return re.sub(r"\s+", "", text).lower()


def records(table: list[list[Any]],
            columns: dict[str, tuple[bool, tuple[str, ...]]]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, {field: cell}) of every non-empty data row; refuses a file missing a required column."""
    if not table:
        raise _file_error("empty_file", "文件为空", "the file is empty")
    header = [_header_key(c) for c in table[0]]
    where: dict[str, int] = {}
    for field, (_, aliases) in columns.items():
        found = [i for i, h in enumerate(header) if h in aliases]
        if found:
            where[field] = found[0]
    missing = [columns[f][1][0] for f, (required, _) in columns.items() if required and f not in where]
    if missing:
        names = "、".join(missing)
        raise _file_error("missing_column", f"缺少列：{names}", f"missing columns: {names}")
    if len(table) - 1 > MAX_ROWS:
        raise _file_error("too_many_rows", f"每个文件最多 {MAX_ROWS} 行", f"at most {MAX_ROWS} rows per file")
    for number, row in enumerate(table[1:], start=2):
        cells = {f: (row[i] if i < len(row) else None) for f, i in where.items()}
        if any(_text(v) for v in cells.values()):
            yield number, cells


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _number(p: Problems, field: str, value: Any, *, integer: bool) -> float | int | None:
    text = _text(value).replace(",", "")
    if not text:
        return None
    try:
        number = float(text)
        if integer and not number.is_integer():
            raise ValueError(text)
        return int(number) if integer else number
    except ValueError:
        p.add(field, f"“{text}”不是{'整数' if integer else '数字'}", f"{text!r} is not a number", code="not_a_number")
        return None


def _date(p: Problems, field: str, value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    if text:
        p.add(field, f"“{text}”不是日期（如 2026-01-20）", f"{text!r} is not a date (e.g. 2026-01-20)",
              code="not_a_date")
    return None


def _list(value: Any) -> list[str]:
    return [t.strip() for t in _LIST_SEP.split(_text(value)) if t.strip()]


def _locations(p: Problems, townships: list[str], value: Any) -> list[dict[str, Any]]:
    points = [t for t in _POINT_SEP.split(_text(value)) if t.strip()]
    if not points:
        return []
    if len(points) != len(townships):
        p.add("coordinates", "坐标个数须与乡镇个数相同（按顺序对应）",
              "give one coordinate pair per township, in the same order", code="coordinates_count")
        return []
    found = []
    for town, point in zip(townships, points, strict=True):
        parts = [x for x in _COORD_SEP.split(point.strip()) if x]
        try:
            lat, lon = (float(x) for x in parts)
            found.append({"township": town, "lat": lat, "lon": lon})
        except ValueError:
            p.add("coordinates", f"坐标“{point}”应为“纬度,经度”", f"coordinate {point!r} must be 'lat,lon'",
                  code="bad_coordinates")
    return found


def _validated(model: type[pydantic.BaseModel], data: dict[str, Any], p: Problems) -> Any:
    try:
        result = model.model_validate(data)
    except pydantic.ValidationError as exc:
        reported = {item["field"] for item in p.items}  # a cell already explained needs no second reason
        for e in exc.errors(include_url=False, include_input=False):
            field = ".".join(map(str, e["loc"]))
            if str(e["loc"][0]) not in reported:
                p.add(field, f"字段“{field}”不符合要求", e["msg"], code="validation")
        result = None
    if p.items:
        raise RowError(p.items)
    return result


def department_command(cells: dict[str, Any]) -> RegisterDepartment:
    """The registration a department row asks for."""
    return _validated(RegisterDepartment, {f: _text(v) for f, v in cells.items()}, Problems())


def project_command(cells: dict[str, Any], *, year: int, default_voted_on: date,
                    unit_code: Callable[[str], str | None]) -> RegisterVotedProject:
    """The registration a vote-result row asks for; units may be given by code, full name or short name."""
    p = Problems()
    townships = _list(cells.get("townships"))
    units: dict[str, Any] = {}
    for field, names in (("lead_unit", [_text(cells.get("lead_unit"))]), ("co_units", _list(cells.get("co_units")))):
        codes = []
        for name in names:
            code = unit_code(name)
            if code is None:
                p.add(field, f"单位“{name}”未登记", f"unit {name!r} is not registered", code="unknown_department")
            codes.append(code or name)
        units[field] = codes
    data = {
        "year": year, "code": _text(cells.get("code")), "title": _text(cells.get("title")),
        "category": _text(cells.get("category")), "description": _text(cells.get("description")),
        "townships": townships, "locations": _locations(p, townships, cells.get("coordinates")),
        "budget_wan": _number(p, "budget_wan", cells.get("budget_wan"), integer=False),
        "lead_unit": units["lead_unit"][0], "co_units": units["co_units"],
        "votes_for": _number(p, "votes_for", cells.get("votes_for"), integer=True),
        "votes_against": _number(p, "votes_against", cells.get("votes_against"), integer=True),
        "votes_abstain": _number(p, "votes_abstain", cells.get("votes_abstain"), integer=True),
        "voted_on": _date(p, "voted_on", cells.get("voted_on")) or default_voted_on,
    }
    return _validated(RegisterVotedProject, data, p)

