"""HTML forms made from a command's JSON schema, and the command body made back from a submitted form."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pydantic
from openpyxl import load_workbook
from starlette.datastructures import FormData, UploadFile

from services.gateway.i18n import label, pick, value_text
from shared.errors import ValidationFailed

_SPLIT = re.compile(r"[,，、;；\n]+")
_LONG_TEXT = {"content", "description", "minutes", "narrative", "problems", "summary", "note", "reason", "answer",
              "difficulties", "progress", "public_response", "demands", "help_note", "conclusion", "resolution",
              "comment", "planned_actions", "override_reason", "correction_reason"}
CITY_OFFSET = "+08:00"  # Asia/Shanghai has no daylight saving: a form's local time is +08:00


@dataclass
class Field:
    """One input of a generated form."""

    name: str  # dotted for the parts of a nested record: home.township
    label: str
    widget: str  # text textarea number date datetime select checkboxes checkbox list json file rows attachments
    required: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    value: Any = ""
    help: str = ""
    error: str = ""
    step: str = "1"


def _resolve(prop: dict[str, Any], defs: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(the property's own schema, whether null is allowed)."""
    nullable = False
    if "anyOf" in prop:
        options = [p for p in prop["anyOf"] if p.get("type") != "null"]
        nullable = len(options) < len(prop["anyOf"])
        merged = {k: v for k, v in prop.items() if k != "anyOf"}
        prop = {**(options[0] if options else {}), **merged}
    if "$ref" in prop:
        target = defs.get(prop["$ref"].rsplit("/", 1)[-1], {})
        prop = {**target, **{k: v for k, v in prop.items() if k != "$ref"}}
    return prop, nullable


def _help(prop: dict[str, Any], lang: str) -> str:
    text = prop.get("description") or ""
    if " / " in text:
        return pick(text, lang)
    # Contracts describe fields in English, often with the Chinese term first: keep what the user reads.
    return text if lang == "en" or any("\u4e00" <= ch <= "\u9fff" for ch in text) else ""


def fields_of(model: type[pydantic.BaseModel], lang: str, values: dict[str, Any] | None = None) -> list[Field]:
    """The inputs of a form for the model, filled with `values` (dotted names)."""
    schema = model.model_json_schema(by_alias=True)
    defs = schema.get("$defs", {})
    values = values or {}
    out: list[Field] = []
    required = set(schema.get("required", []))
    for name, raw in schema.get("properties", {}).items():
        prop, _ = _resolve(raw, defs)
        out += _fields_for(name, prop, name in required, defs, lang)
    for f in out:
        if f.name in values and values[f.name] not in (None, ""):
            f.value = values[f.name]
        elif f.value == "" and f.widget not in ("file", "rows", "attachments"):
            f.value = _default(schema, f.name, defs)
    return out


def _default(schema: dict[str, Any], dotted: str, defs: dict[str, Any]) -> Any:
    prop: dict[str, Any] = schema
    for part in dotted.split("."):
        prop, _ = _resolve(prop.get("properties", {}).get(part, {}), defs)
    value = prop.get("default")
    if isinstance(value, list):
        return "、".join(map(str, value))
    return "" if value is None else value


def _fields_for(name: str, prop: dict[str, Any], required: bool, defs: dict[str, Any], lang: str) -> list[Field]:
    title = label(name, lang)
    title = title if title != name else (_help(prop, lang).split(" ")[0] or name) if _cjk(prop) else name
    f = Field(name, title, "text", required, help=_help(prop, lang))
    kind = prop.get("type")
    if name == "content_base64":
        f.widget = "file"
    elif "enum" in prop or "const" in prop:
        f.widget = "select"
        f.options = [(str(v), value_text(v, lang)) for v in prop.get("enum", [prop.get("const")])]
    elif kind == "string" and prop.get("format") == "date":
        f.widget = "date"
    elif kind == "string" and prop.get("format") == "date-time":
        f.widget = "datetime"
    elif kind == "string":
        f.widget = "textarea" if name in _LONG_TEXT or prop.get("maxLength", 0) > 4000 else "text"
    elif kind in ("integer", "number"):
        f.widget, f.step = "number", "1" if kind == "integer" else "any"
    elif kind == "boolean":
        f.widget = "checkbox"
    elif kind == "object" and "properties" in prop:
        inner_required = set(prop.get("required", []))
        subs = []
        for sub, sub_raw in prop["properties"].items():
            sub_prop, _ = _resolve(sub_raw, defs)
            for s in _fields_for(f"{name}.{sub}", sub_prop, required and sub in inner_required, defs, lang):
                s.label = f"{title}·{label(sub, lang)}"
                subs.append(s)
        return subs
    elif kind == "array":
        items, _ = _resolve(prop.get("items", {}), defs)
        props = set(items.get("properties", {}))
        if {"key", "sha256", "content_type"} <= props:
            f.widget = "attachments"
        elif {"row", "fields"} <= props:
            f.widget = "rows"
        elif "enum" in items:
            f.widget = "checkboxes"
            f.options = [(str(v), value_text(v, lang)) for v in items["enum"]]
        elif items.get("type") in ("string", "integer", "number"):
            f.widget = "list"
        else:
            f.widget = "json"
    return [f]


def _cjk(prop: dict[str, Any]) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in prop.get("description", "")[:4])


async def payload_of(fields: list[Field], form: FormData, store_file: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """(the request body, field errors) from a submitted form; files are stored through `store_file`."""
    body: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields:
        try:
            value = await _value(f, form, store_file, body)
        except ValueError as exc:
            errors[f.name] = str(exc)
            continue
        if value is _MISSING:
            continue
        target = body
        parts = f.name.split(".")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return body, errors


_MISSING = object()


async def _value(f: Field, form: FormData, store_file: Any, body: dict[str, Any]) -> Any:
    if f.widget == "checkboxes":
        return form.getlist(f.name) or _MISSING
    if f.widget == "checkbox":
        return f.name in form
    if f.widget in ("file", "rows", "attachments"):
        uploads = [u for u in form.getlist(f.name) if isinstance(u, UploadFile) and u.filename]
        if not uploads:
            return _MISSING
        if f.widget == "attachments":
            return [(await store_file(u)).model_dump() for u in uploads]
        data = await uploads[0].read()
        if f.widget == "file":
            body.setdefault("file_name", uploads[0].filename)
            return base64.b64encode(data).decode()
        return rows_of_file(uploads[0].filename or "", data)
    raw = form.get(f.name)
    if not isinstance(raw, str) or raw.strip() == "":
        return _MISSING
    raw = raw.strip()
    if f.widget == "datetime":
        return raw if re.search(r"(Z|[+-]\d\d:\d\d)$", raw) else raw + (":00" if len(raw) == 16 else "") + CITY_OFFSET
    if f.widget == "list":
        return [part.strip() for part in _SPLIT.split(raw) if part.strip()]
    if f.widget == "json":
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"不是有效的 JSON / not valid JSON: {exc}") from exc
    return raw


def rows_of_file(filename: str, data: bytes) -> list[dict[str, Any]]:
    """Rows of a CSV or XLSX file as `{row, fields}` (first row: field names), for row-level imports."""
    if filename.lower().endswith(".xlsx"):
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        table = [[("" if c is None else str(c)).strip() for c in r] for r in sheet.iter_rows(values_only=True)]
    elif filename.lower().endswith(".csv"):
        text = data.decode("utf-8-sig", errors="replace")
        table = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text))]
    else:
        raise ValueError("只支持 CSV 或 XLSX 文件 / only CSV or XLSX files")
    if len(table) < 2:
        raise ValueError("文件没有数据行 / the file has no data rows")
    header = table[0]
    return [{"row": i, "fields": {h: (cell or None) for h, cell in zip(header, r, strict=False) if h}}
            for i, r in enumerate(table[1:], start=2) if any(r)]


def validate(model: type[pydantic.BaseModel], body: dict[str, Any]) -> dict[str, Any]:
    """The body as the service will receive it; field errors as a ValidationFailed."""
    try:
        return model.model_validate(body).model_dump(mode="json", exclude_unset=True, by_alias=True)
    except pydantic.ValidationError as exc:
        details = [{"field": ".".join(str(p) for p in e["loc"]) or "(body)", "message": e["msg"]}
                   for e in exc.errors(include_url=False, include_input=False)]
        raise ValidationFailed("请检查填写的内容 / please check the form", details) from exc


def attach_errors(fields: list[Field], details: Any, lang: str) -> list[str]:
    """Put field errors next to their inputs; the messages that match no input are returned."""
    by_name = {f.name: f for f in fields}
    loose = []
    for d in details if isinstance(details, list) else []:
        if not isinstance(d, dict):
            continue
        name = str(d.get("field", ""))
        message = pick(str(d.get("message", "")), lang)
        target = by_name.get(name) or by_name.get(name.split(".")[0])
        if target:
            target.error = message
        else:
            loose.append(f"{name}: {message}" if name else message)
    return loose
