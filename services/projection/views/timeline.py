"""The audit trail: every event about a project, delegate or feedback item, with who did it."""

from __future__ import annotations

from typing import Any

import asyncpg

from shared.contracts.base import Event, EventEnvelope, personal_fields, registry
from shared.contracts.projection import GetTimeline
from shared.readmodel import ReadModel

VIEW = "timeline"

model = ReadModel(
    name="timeline",
    ddl="""
    CREATE TABLE timeline (
        event_id       uuid PRIMARY KEY,
        stream_id      text NOT NULL,
        version        integer NOT NULL,
        type           text NOT NULL,
        schema_version integer NOT NULL,
        occurred_at    timestamptz NOT NULL,
        recorded_at    timestamptz NOT NULL,
        actor          text NOT NULL,
        correlation_id text NOT NULL,
        body           jsonb NOT NULL
    );
    -- Every id an event mentions, so a thing's timeline includes events of other streams about it.
    CREATE TABLE timeline_refs (ref text NOT NULL, event_id uuid NOT NULL, PRIMARY KEY (ref, event_id));
    """,
)

_REF_SUFFIXES = ("_id", "_ids", "_by")


def mentioned_ids(body: dict[str, Any]) -> set[str]:
    """The ids a body mentions: values of fields named *_id, *_ids or *_by (lists included)."""
    found: set[str] = set()
    for key, value in body.items():
        if not key.endswith(_REF_SUFFIXES):
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item:
                found.add(item)
    return found


# Personal fields by (type, schema_version): a contract's fields are fixed once its class is
# registered, and a timeline page asks for them up to 5,000 times.
_HIDDEN: dict[tuple[str, int], frozenset[str]] = {}


def _hidden(type_: str, schema_version: int) -> frozenset[str]:
    key = (type_, schema_version)
    hidden = _HIDDEN.get(key)
    if hidden is None:
        cls = registry.event_class(type_, schema_version)
        hidden = frozenset(personal_fields(cls)) if cls else frozenset()
        if cls is not None:  # an unknown type may be registered later: ask again then
            _HIDDEN[key] = hidden
    return hidden


def public_body(type_: str, schema_version: int, body: dict[str, Any]) -> dict[str, Any]:
    """The body without fields the contracts mark as personal data (the trail is widely readable)."""
    hidden = _hidden(type_, schema_version)
    if hidden.isdisjoint(body):
        return body
    return {k: v for k, v in body.items() if k not in hidden}


@model.on_any
async def record(conn: asyncpg.Connection, env: EventEnvelope, event: Event | None) -> None:
    """Keep the event whole (as-of views replay it) and every id it mentions."""
    await conn.execute(
        """INSERT INTO timeline (event_id, stream_id, version, type, schema_version, occurred_at, recorded_at,
                                 actor, correlation_id, body)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (event_id) DO NOTHING""",
        env.event_id, env.stream_id, env.version, env.type, env.schema_version, env.occurred_at, env.recorded_at,
        env.actor, env.correlation_id, env.body,
    )
    refs = mentioned_ids(env.body) | {env.stream_id}
    await conn.execute(
        "INSERT INTO timeline_refs (ref, event_id) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING",
        sorted(refs), env.event_id,
    )


async def get_timeline(conn: asyncpg.Connection, q: GetTimeline) -> dict[str, Any]:
    """The events about `ref`, in business-time order, then recording order."""
    rows = await conn.fetch(
        """SELECT t.event_id, t.stream_id, t.version, t.type, t.schema_version, t.occurred_at, t.recorded_at,
                  t.actor, t.body
           FROM timeline_refs r JOIN timeline t USING (event_id)
           WHERE r.ref = $1 ORDER BY t.occurred_at, t.recorded_at, t.stream_id, t.version LIMIT $2""",
        q.ref, q.limit,
    )
    items = [dict(r) | {"body": public_body(r["type"], r["schema_version"], r["body"])} for r in rows]
    return {"ref": q.ref, "items": items}


QUERIES = {GetTimeline: get_timeline}
