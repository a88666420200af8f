"""Hypothesis strategies for request bodies: valid by a pydantic model's JSON schema, or broken on purpose.

hypothesis-jsonschema does not run on current Hypothesis, so this covers the part of JSON Schema
that pydantic emits: $ref/$defs, anyOf/oneOf/allOf, enum/const, string (length, pattern, date
formats), integer/number bounds, arrays, objects with required and additionalProperties.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

# Mostly plausible dates (recent years), so bodies reach the domain rules, not only field checks.
_DATES = st.one_of(st.dates(date(2024, 1, 1), date(2027, 12, 31)), st.dates(date(1990, 1, 1), date(2100, 12, 31)))
_TEXT = st.characters(codec="utf-8", exclude_categories=("Cs",))  # what JSON over UTF-8 can carry
_JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                          st.text(_TEXT, max_size=30))
ANY_JSON = st.recursive(_JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(_TEXT, max_size=10), inner, max_size=4)), max_leaves=12)


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = {**root["$defs"][name], **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def from_schema(schema: dict[str, Any], root: dict[str, Any] | None = None) -> st.SearchStrategy[Any]:
    """JSON values valid for a (pydantic-generated) JSON schema."""
    root = root or schema
    schema = _resolve(schema, root)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([from_schema(s, root) for s in schema[key]])
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return from_schema(schema["allOf"][0], root)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([from_schema({**schema, "type": k}, root) for k in kind])
    if kind == "string":
        return _string(schema)
    if kind in ("integer", "number"):
        return _number(schema, integral=kind == "integer")
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        items = from_schema(schema.get("items", {}), root)
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 5), 5),
                        unique_by=(lambda v: repr(v)) if schema.get("uniqueItems") else None)
    if kind == "object" or "properties" in schema:
        return _object(schema, root)
    return ANY_JSON


def _number(schema: dict[str, Any], *, integral: bool) -> st.SearchStrategy[float]:
    lo, hi = schema.get("minimum", schema.get("exclusiveMinimum")), schema.get("maximum", schema.get("exclusiveMaximum"))
    ints = st.integers(None if lo is None else int(lo) + 1, None if hi is None else int(hi) - 1) if lo is None or hi is None \
        or hi - lo >= 2 else st.nothing()
    if integral:
        return st.integers(lo, hi) if "exclusiveMinimum" not in schema and "exclusiveMaximum" not in schema else ints
    floats = st.floats(lo, hi, exclude_min="exclusiveMinimum" in schema, exclude_max="exclusiveMaximum" in schema,
                       allow_nan=False, allow_infinity=False)
    return st.one_of(floats, ints)


def _string(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    fmt = schema.get("format")
    if fmt == "date":
        return _DATES.map(date.isoformat)
    if fmt == "date-time":
        return st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC)).map(
            datetime.isoformat)
    if fmt == "uuid":
        return st.uuids().map(str)
    lo, hi = schema.get("minLength", 0), schema.get("maxLength", 200)
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: lo <= len(s) <= hi)
    return st.text(_TEXT, min_size=lo, max_size=min(hi, max(lo, 60)))


def _object(schema: dict[str, Any], root: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    fixed = {k: from_schema(v, root) for k, v in props.items() if k in required}
    optional = {k: from_schema(v, root) for k, v in props.items() if k not in required}
    if not props and isinstance(schema.get("additionalProperties"), dict):
        return st.dictionaries(st.text(_TEXT, max_size=10), from_schema(schema["additionalProperties"], root),
                               max_size=3)
    return st.fixed_dictionaries(fixed, optional=optional)


@functools.cache
def valid_bodies(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """Bodies that pass the model's field checks (its model validators may still refuse some)."""
    return from_schema(model.model_json_schema())


def broken_bodies(model: type[BaseModel]) -> st.SearchStrategy[Any]:
    """Bodies that are probably invalid: fields dropped, replaced by any JSON, unknown fields, or no object."""
    fields = list(model.model_fields)

    @st.composite
    def mutated(draw: st.DrawFn) -> dict[str, Any]:
        body = dict(draw(valid_bodies(model)))
        for name in draw(st.lists(st.sampled_from(fields), max_size=3)) if fields else []:
            if draw(st.booleans()):
                body.pop(name, None)
            else:
                body[name] = draw(ANY_JSON)
        if draw(st.booleans()):
            body[draw(st.text(_TEXT, min_size=1, max_size=12))] = draw(ANY_JSON)
        return body

    return st.one_of(mutated(), ANY_JSON)


def any_bodies(model: type[BaseModel]) -> st.SearchStrategy[Any]:
    """Valid and broken bodies, about half each."""
    return st.one_of(valid_bodies(model), broken_bodies(model))


def examples(strategy: st.SearchStrategy[Any], n: int, seed: int = 0) -> list[Any]:
    """Up to `n` values drawn from a strategy, the same ones for the same seed (for loads, not properties)."""
    from hypothesis import HealthCheck, Phase, given, settings  # noqa: PLC0415
    from hypothesis import seed as fixed_seed  # noqa: PLC0415

    out: list[Any] = []

    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @fixed_seed(seed)
    @given(strategy)
    def collect(value: Any) -> None:
        out.append(value)

    collect()
    return out


def command_bodies(models: dict[str, type[BaseModel]]) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """(subject, body) of any of the given command subjects, the body valid by the model's fields."""
    return st.sampled_from(sorted(models)).flatmap(lambda s: st.tuples(st.just(s), valid_bodies(models[s])))
