"""Record which keys each view's answers hold over the demo year, for tests/unit/test_gateway_labels.py.

Run against a stack started with the demo data (`huimin up`), after a view gains or renames a key:
    NATS_URL=nats://127.0.0.1:4222 .venv/bin/python -m tests.unit.record_view_keys
The test then asks for a dashboard label of every recorded key.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import nats

from shared.config import get_settings
from shared.rpc import RpcClient
from shared.subjects import query_subject

KEYS_FILE = Path(__file__).parent / "data" / "gateway_view_keys.json"

# Representative questions to each view over the demo year (several where answers differ in shape).
QUESTIONS: dict[str, list[dict[str, Any]]] = {
    "activities.contact_logs": [{"year": 2026}], "activities.contact_points": [{"year": 2026}],
    "activities.get": [{"activity_id": "2026-insp-08"}, {"activity_id": "2026-summary"}],
    "activities.list": [{"year": 2026}], "board.city": [{"year": 2026}],
    "board.department": [{"dept_code": "jhjyj", "year": 2026}, {"dept_code": "jhcgj", "year": 2026}],
    "board.group": [{"group_id": "gasa-2026", "year": 2026}],
    "briefing.generate": [{"year": 2026, "start": "2026-01-01", "end": "2026-12-31"}],
    "delegates.committees": [{}], "delegates.get": [{"delegate_id": "d001"}], "delegates.groups": [{"year": 2026}],
    "delegates.leaders": [{}], "delegates.list": [{"year": 2026, "limit": 50}],
    "delegates.suggest": [{"project_id": "project-2026-01"}], "delegates.supervision": [{"year": 2026}],
    "feedback.detail": [{"feedback_id": f} for f in ("fb-2026-009", "fb-2026-010", "fb-2026-004", "fb-2026-015")],
    "feedback.evaluation": [{"year": 2026}], "feedback.list": [{"year": 2026, "limit": 200}],
    "projects.departments": [{}], "projects.get": [{"project_id": f"project-2026-{n:02d}"} for n in range(1, 11)],
    "projects.list": [{"year": 2026}], "projects.year": [{"year": 2026}],
    "record.get": [{"delegate_id": "d001", "year": 2026}, {"delegate_id": "d209", "year": 2026}],
    "record.rank": [{"year": 2026}], "supervision.get": [{"project_id": "project-2026-01"},
                                                         {"project_id": "project-2026-04"}],
    "timeline.get": [{"ref": r} for r in ("project-2026-01", "fb-2026-009", "2026-insp-08", "d001", "2026-cp-01")],
}


def keys_of(value: Any, found: set[str]) -> set[str]:
    """Every dict key at any depth, except the keys of maps keyed by data: `department_names` (code -> name)
    and the board's `summary` (field -> value -> count)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            found.add(key)
            if key == "summary" and isinstance(inner, dict):
                found.update(inner)
            elif not key.endswith("_names"):
                keys_of(inner, found)
    elif isinstance(value, list):
        for inner in value:
            keys_of(inner, found)
    return found


async def record(nats_url: str) -> dict[str, list[str]]:
    """The keys of every view's answers to QUESTIONS."""
    nc = await nats.connect(nats_url)
    try:
        client = RpcClient(nc)
        out = {}
        for route, questions in QUESTIONS.items():
            view, name = route.split(".")
            found: set[str] = set()
            for question in questions:
                reply = await client.request(query_subject(view, name), question)
                if not reply.get("ok"):
                    raise SystemExit(f"{route} {question}: {reply}")
                keys_of(reply, found)
            out[route] = sorted(found - {"ok"})
        return out
    finally:
        await nc.close()


if __name__ == "__main__":
    keys = asyncio.run(record(get_settings().nats_url))
    KEYS_FILE.write_text(json.dumps(keys, ensure_ascii=False, indent=1) + "\n")
    print(f"recorded {sum(map(len, keys.values()))} keys of {len(keys)} queries in {KEYS_FILE}")
