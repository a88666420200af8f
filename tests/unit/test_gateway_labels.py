"""Every field name that can reach a dashboard page has a Chinese label and an English one.

Field names come from every command, query, department message and event of the contracts (forms,
timelines) and from the keys the projection's views answer over the demo year (recorded in
tests/unit/data/gateway_view_keys.json by `python -m tests.unit.record_view_keys`).
"""

from __future__ import annotations

import inspect
import json
import re
from typing import Any

from services.gateway.catalog import build_catalog, contract_modules
from services.gateway.department import KINDS
from services.gateway.i18n import LABELS, VALUES
from services.gateway.web.render import HIDDEN, record
from shared.contracts.base import Event
from tests.unit.record_view_keys import KEYS_FILE, QUESTIONS

CATALOG = build_catalog()
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _schema_names(props: dict[str, Any], defs: dict[str, Any], found: set[str]) -> set[str]:
    """Property names of a JSON schema, nested records and list items included."""
    for name, prop in props.items():
        found.add(name)
        for sub in (prop, *prop.get("anyOf", []), prop.get("items") or {}):
            ref = sub.get("$ref", "")
            if ref:
                _schema_names(defs.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}), defs, found)
            if sub is not prop and "properties" in sub:
                _schema_names(sub["properties"], defs, found)
    return found


def contract_field_names() -> dict[str, set[str]]:
    """Field names (as sent: aliases) of every route, department message and event, by model."""
    events = [cls for module in contract_modules() for cls in vars(module).values()
              if inspect.isclass(cls) and issubclass(cls, Event) and cls is not Event]
    models = [r.model for r in CATALOG.routes] + [kind[0] for kind in KINDS.values()] + events
    out = {}
    for model in models:
        schema = model.model_json_schema(by_alias=True)
        out[model.__name__] = _schema_names(schema.get("properties", {}), schema.get("$defs", {}), set())
    return out


def _enum_values(schema: Any, found: set[str]) -> set[str]:
    """Every choice (`enum`, `const`) of a JSON schema that is a code word, not already Chinese."""
    if isinstance(schema, dict):
        for value in [*schema.get("enum", []), *([schema["const"]] if "const" in schema else [])]:
            if isinstance(value, str) and re.fullmatch(r"[a-z][a-z0-9_]*", value):
                found.add(value)
        for inner in schema.values():
            _enum_values(inner, found)
    elif isinstance(schema, list):
        for inner in schema:
            _enum_values(inner, found)
    return found


def view_keys() -> dict[str, list[str]]:
    """The recorded keys of each view query's answers."""
    return json.loads(KEYS_FILE.read_text())


def _unlabelled(names: set[str], hidden: set[str] = HIDDEN) -> list[str]:
    return sorted(n for n in names if n not in hidden and n not in LABELS)


def test_every_contract_field_has_a_label():
    """Forms show every field of a command (bookkeeping ones too), so none is exempt."""
    missing = {model: _unlabelled(names, set()) for model, names in contract_field_names().items()}
    assert not {m: n for m, n in missing.items() if n}, "add to services/gateway/i18n.py LABELS"


def test_every_choice_of_a_form_reads_in_chinese():
    """Select options and checkboxes show a command's choices through VALUES."""
    models = [r.model for r in CATALOG.routes] + [kind[0] for kind in KINDS.values()]
    missing = {m.__name__: sorted(_enum_values(m.model_json_schema(), set()) - set(VALUES)) for m in models}
    assert not {m: v for m, v in missing.items() if v}, "add to services/gateway/i18n.py VALUES"


def test_every_view_query_has_recorded_keys():
    """A new view query must be asked by the recorder, so its keys are checked below."""
    projection_queries = {f"{r.group}.{r.name}" for r in CATALOG.queries() if r.answered_by == "projection"}
    assert projection_queries <= set(QUESTIONS), "add the query to tests/unit/record_view_keys.py QUESTIONS"
    assert projection_queries <= set(view_keys()), "run python -m tests.unit.record_view_keys"


def test_every_key_of_a_view_answer_has_a_label():
    missing = {route: _unlabelled(set(keys)) for route, keys in view_keys().items()}
    assert not {r: n for r, n in missing.items() if n}, "add to services/gateway/i18n.py LABELS"


def test_labels_are_chinese_and_english():
    wrong = [f"{name}: {zh!r} / {en!r}" for name, (zh, en) in LABELS.items()
             if not _CJK.search(zh) or not en or _CJK.search(en) or en == name]
    assert not wrong, wrong


def test_a_page_shows_labels_not_field_names():
    names = set().union(*contract_field_names().values(), *map(set, view_keys().values())) - HIDDEN
    html = str(record({name: "x" for name in names}, "zh"))
    shown = set(re.findall(r"<dt>([^<]*)</dt>", html))
    assert not shown & names, sorted(shown & names)[:20]
