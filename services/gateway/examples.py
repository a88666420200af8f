"""Request examples for OpenAPI, from a model's own `examples` or made from its JSON schema."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

# Plausible values by field name, so generated examples read like the city's data; the first that
# fits the field's pattern is used.
_BY_NAME: dict[str, list[Any]] = {
    "year": [2026], "code": ["01", "123456"], "project_id": ["project-2026-01"], "lead_unit": ["jhjyj"],
    "dept_code": ["jhjyj"], "department": ["jhjyj"], "main_department": ["jhjyj"], "reported_by": ["jhjyj"],
    "delegate_id": ["d001"], "group_id": ["gasa-2026"], "activity_id": ["act-001"], "feedback_id": ["fb-001"],
    "leader_id": ["l01"], "committee_id": ["c01"], "township": ["嘎洒镇"], "constituency": ["嘎洒镇"],
    "title": ["嘎洒镇农村饮水安全巩固提升"], "name": ["张三"], "category": ["农业农村"], "reason": ["工作调整"],
    "content": ["建议加快施工进度"], "phone": ["13800000000"], "ethnicity": ["傣族"], "obstacle_id": ["o1"],
    "contact_point_id": ["cp-001"], "file_name": ["projects.csv"], "content_base64": ["5Luj56CBLOWQjeensAo="],
    "rated_by": ["d001"], "raised_by": ["d001"], "place": ["嘎洒镇政府会议室"], "organiser": ["常委会办公室"],
    "message_id": ["msg-001"], "ref": ["project-2026-01"],
}
_GENERIC = ["示例内容", "a1", "01", "123456"]


def model_example(model: type[BaseModel]) -> dict[str, Any]:
    """An example body: the model's first declared example, else one built from its schema.

    The required fields alone when they make a valid request, else every field (some requests
    need one of several optional fields).
    """
    schema = model.model_json_schema(by_alias=True)
    declared = schema.get("examples")
    if isinstance(declared, list) and declared:
        return declared[0]
    defs = schema.get("$defs", {})
    minimal = _object(schema, defs)
    if _valid(model, minimal):
        return minimal
    full = _object(schema, defs, everything=True)
    return full if _valid(model, full) else minimal


def _valid(model: type[BaseModel], body: dict[str, Any]) -> bool:
    try:
        model.model_validate(body)
    except ValueError:
        return False
    return True


def _fits(value: Any, prop: dict[str, Any]) -> bool:
    if isinstance(value, str):
        if prop.get("type") not in ("string", None):
            return False
        if "pattern" in prop and not re.search(prop["pattern"], value):
            return False
        return prop.get("minLength", 0) <= len(value) <= prop.get("maxLength", 10**9)
    return isinstance(value, int) and prop.get("type") == "integer" and (
        prop.get("minimum", -10**9) <= value <= prop.get("maximum", 10**9))


def _object(schema: dict[str, Any], defs: dict[str, Any], everything: bool = False) -> dict[str, Any]:
    required = set(schema.get("required", []))
    return {name: _value(name, prop, defs) for name, prop in schema.get("properties", {}).items()
            if everything or name in required}


def _value(name: str, prop: dict[str, Any], defs: dict[str, Any]) -> Any:
    if "$ref" in prop:
        return _value(name, defs.get(prop["$ref"].rsplit("/", 1)[-1], {}), defs)
    for key in ("examples", "enum"):
        if prop.get(key):
            return prop[key][0]
    if "const" in prop:
        return prop["const"]
    if "anyOf" in prop:
        options = [p for p in prop["anyOf"] if p.get("type") != "null"]
        return _value(name, options[0], defs) if options else None
    kind = prop.get("type")
    if kind in ("string", "integer", None) and "format" not in prop:
        fitting = [v for v in _BY_NAME.get(name, []) + (_GENERIC if kind == "string" else []) if _fits(v, prop)]
        if fitting:
            return fitting[0]
    if kind == "object":
        return _object(prop, defs)
    if kind == "array":
        return [_value(name.rstrip("s"), prop.get("items", {}), defs)]
    if kind == "integer":
        return prop.get("minimum", 1)
    if kind == "number":
        return prop.get("minimum", 1.0)
    if kind == "boolean":
        return True
    if kind == "string":
        return {"date": "2026-04-15", "date-time": "2026-04-15T09:30:00+08:00"}.get(prop.get("format", ""), "示例")
    return None
