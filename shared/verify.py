"""`huimin verify`: check the invariants of a running system and print every difference.

1. Every event in each write service's event store is in HUIMIN_EVENTS exactly once, as stored,
   on its own subject, in version order per stream; nothing is in the stream that no store holds.
2. The projection's live read models equal a rebuild from HUIMIN_EVENTS (into a scratch schema).
3. Each write service's copy of other services' events (`<service>-copy`) equals a rebuild too.
4. Every accepted department message's events are in its service's event store.

Run it on a quiet system: it first waits (up to `settle_s`) until the relays and every durable
consumer have caught up, and reports whatever is still behind as a difference.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import nats
import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from shared.config import Settings
from shared.contracts.base import EventEnvelope
from shared.db import create_pool
from shared.service import ServiceRuntime
from shared.subjects import EVENTS_PREFIX, EVENTS_STREAM, INGEST_STREAM
from shared.verify_tables import SCRATCH_PREFIX, check_copy, check_read_models, schema_exists, stream_end

CHECKS = ("events", "read_models", "copies", "ingest")


@dataclass(frozen=True)
class Difference:
    """One way the system breaks an invariant."""

    check: str
    what: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    """What verify compared and every difference it found."""

    differences: list[Difference] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether no difference was found."""
        return not self.differences

    def add(self, check: str, what: str, **detail: Any) -> None:
        """Record a difference."""
        self.differences.append(Difference(check, what, detail))

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data (for --json)."""
        return {"ok": self.ok, "counts": self.counts, "ignored_columns": self.ignored_columns, "notes": self.notes,
                "differences": [{"check": d.check, "what": d.what, **d.detail} for d in self.differences]}


def format_report(report: Report) -> str:
    """The report as lines for a terminal."""
    lines = [f"{k}: {v}" for k, v in report.counts.items()]
    lines += [f"note: {n}" for n in report.notes]
    if report.ignored_columns:
        lines.append("volatile columns not compared: " + ", ".join(
            f"{t}.{c}" for t, cols in sorted(report.ignored_columns.items()) for c in cols))
    for d in report.differences:
        lines.append(f"DIFFERENCE [{d.check}] {d.what}")
        lines += [f"    {k}: {json.dumps(v, ensure_ascii=False, default=str)}" for k, v in d.detail.items()]
    lines.append("OK: no differences" if report.ok else f"FAILED: {len(report.differences)} difference(s)")
    return "\n".join(lines)


def service_runtimes(settings: Settings, errors: dict[str, str] | None = None) -> dict[str, ServiceRuntime]:
    """Every discovered service built (not started), to read what it declares: commands, kinds, copies.

    A service that fails to build raises, unless `errors` is given to collect why.
    """
    from shared.runtime.stack import discover_services  # noqa: PLC0415 (imports every service package)

    # Building needs a NATS URL but never connects: any will do.
    settings = settings.model_copy(update={"nats_url": settings.nats_url or "nats://127.0.0.1:4222"})
    runtimes = {}
    for name in discover_services():
        try:
            main = importlib.import_module(f"services.{name}.main")
            built = main.build(settings) if hasattr(main, "build") else None
        except ModuleNotFoundError as exc:
            if exc.name == f"services.{name}.main":
                continue  # not wired like the others (no main.build): nothing to read
            if errors is None:
                raise
            errors[name] = repr(exc)
            continue
        except Exception as exc:
            if errors is None:
                raise
            errors[name] = repr(exc)
            continue
        for candidate in built if isinstance(built, tuple) else (built,):
            if isinstance(candidate, ServiceRuntime):
                runtimes[name] = candidate
                break
    return runtimes


async def verify(settings: Settings, *, settle_s: float = 10.0, checks: Iterable[str] = CHECKS) -> Report:
    """Wait for the system to settle, then run the checks; the report lists every difference."""
    assert settings.nats_url and settings.database_url, "NATS_URL and DATABASE_URL must be set"
    checks = set(checks)
    report = Report()
    nc = await nats.connect(settings.nats_url, connect_timeout=5, max_reconnect_attempts=2)
    pool = await create_pool(settings, settings.database_url, "public", "huimin-verify")
    try:
        js = nc.jetstream()
        schemas = await event_schemas(pool)
        errors: dict[str, str] = {}
        runtimes = service_runtimes(settings, errors)
        for name, error in errors.items():
            report.add("services", f"service {name} could not be loaded, so its copy is not checked", error=error)
        await settle(pool, js, schemas, settle_s, report)
        if "events" in checks:
            await check_events(pool, js, schemas, runtimes, report)
        if "read_models" in checks:
            await check_read_models(pool, js, settings, report)
        if "copies" in checks:
            for name, rt in runtimes.items():
                if rt.followed:
                    await check_copy(pool, js, settings, rt, report)
        if "ingest" in checks:
            await check_ingest(pool, schemas, report)
    finally:
        await pool.close()
        await nc.close()
    return report


async def event_schemas(pool: asyncpg.Pool) -> list[str]:
    """Schemas holding an event store (an `events` table with the store's columns)."""
    rows = await pool.fetch(
        """SELECT table_schema FROM information_schema.columns
           WHERE table_name = 'events' AND column_name IN ('event_id', 'stream_id', 'version', 'tx_id')
             AND table_schema NOT LIKE $1
           GROUP BY table_schema HAVING count(*) = 4 ORDER BY 1""", SCRATCH_PREFIX + "%")
    return [r["table_schema"] for r in rows]


# --- settling ----------------------------------------------------------------------------------------------


async def lags(pool: asyncpg.Pool, js: JetStreamContext, schemas: list[str]) -> dict[str, int]:
    """What is not yet passed on: unrelayed events per store, pending messages per durable consumer."""
    out: dict[str, int] = {}
    for schema in schemas:
        out[f"relay {schema}"] = await pool.fetchval(f"""
            SELECT count(*) FROM {schema}.events e
            WHERE NOT EXISTS (SELECT 1 FROM {schema}.event_cursors c
                              WHERE c.name = 'outbox_relay' AND (e.tx_id, e.pos) <= (c.tx_id, c.pos))""")
    from services.projection.runner import LIVE_SCHEMA, NEXT_SCHEMA  # noqa: PLC0415 (the projection's code)

    # A (re)build of the read models runs before the projection's durable consumer exists.
    out["projection rebuild in progress"] = int(await schema_exists(pool, NEXT_SCHEMA))
    out["projection not built yet"] = int(not await schema_exists(pool, LIVE_SCHEMA) and bool(schemas)
                                          and bool(await stream_end(js)))
    for stream in (EVENTS_STREAM, INGEST_STREAM):
        try:
            infos = await js.consumers_info(stream)
        except nats.js.errors.NotFoundError:
            continue
        for info in infos:
            if info.config.durable_name:
                out[f"consumer {stream}/{info.name}"] = (info.num_pending or 0) + (info.num_ack_pending or 0)
    return out


async def settle(pool: asyncpg.Pool, js: JetStreamContext, schemas: list[str], timeout: float,
                 report: Report) -> None:
    """Wait until nothing is behind (twice in a row); report what still is after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    quiet_before = False
    while True:
        behind = {k: v for k, v in (await lags(pool, js, schemas)).items() if v}
        if not behind and quiet_before:
            return
        quiet_before = not behind
        if asyncio.get_running_loop().time() > deadline:
            for what, count in behind.items():
                counted = what.startswith(("relay ", "consumer "))
                report.add("lag", f"{what} is {count} behind" if counted else what, after_s=timeout)
            return
        await asyncio.sleep(0.2)


# --- 1. event stores and JetStream -------------------------------------------------------------------------


async def read_stream(js: JetStreamContext, stream: str) -> list[Msg]:
    """Every message of a stream, in stream order (empty if the stream does not exist)."""
    try:
        last = (await js.stream_info(stream)).state.last_seq
    except nats.js.errors.NotFoundError:
        return []
    sub = await js.pull_subscribe(">", stream=stream, config=ConsumerConfig(
        ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=30, mem_storage=True))
    out: list[Msg] = []
    try:
        while not out or out[-1].metadata.sequence.stream < last:
            try:
                out += await sub.fetch(1000, timeout=2)
            except nats.errors.TimeoutError:
                break
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
    return out


def _stored(row: asyncpg.Record) -> dict[str, Any]:
    meta = row["meta"]
    return {"event_id": row["event_id"], "stream_id": row["stream_id"], "version": row["version"],
            "type": row["type"], "schema_version": row["schema_version"], "body": row["data"],
            "occurred_at": row["occurred_at"], "recorded_at": row["recorded_at"], "actor": meta.get("actor"),
            "correlation_id": meta.get("correlation_id"), "causation_id": meta.get("causation_id")}


def _published(env: EventEnvelope) -> dict[str, Any]:
    return env.model_dump(include={"event_id", "stream_id", "version", "type", "schema_version", "body",
                                   "occurred_at", "recorded_at", "actor", "correlation_id", "causation_id"})


async def check_events(pool: asyncpg.Pool, js: JetStreamContext, schemas: list[str],
                       runtimes: dict[str, ServiceRuntime], report: Report) -> None:
    """Invariant 2: every stored event published once, as stored, in version order per stream."""
    service_of = {schema: schema for schema in schemas}
    service_of |= {rt.schema: name for name, rt in runtimes.items() if rt.schema in service_of}
    stored: dict[str, dict[str, Any]] = {}  # event_id -> stored event (with its service)
    for schema in schemas:
        rows = await pool.fetch(f"""SELECT stream_id, version, event_id, type, schema_version, data, meta,
                                           occurred_at, recorded_at FROM {schema}.events ORDER BY pos""")
        for row in rows:
            stored[str(row["event_id"])] = {**_stored(row), "service": service_of[schema]}
        report.counts[f"events in {schema}"] = len(rows)
    msgs = await read_stream(js, EVENTS_STREAM)
    report.counts["messages in " + EVENTS_STREAM] = len(msgs)
    seen: Counter[str] = Counter()
    order: dict[tuple[str, str], list[int]] = defaultdict(list)
    for msg in msgs:
        seq = msg.metadata.sequence.stream
        try:
            env = EventEnvelope.model_validate_json(msg.data)
        except ValueError:
            report.add("events", f"message {seq} is not an event envelope", subject=msg.subject)
            continue
        event_id = str(env.event_id)
        seen[event_id] += 1
        if seen[event_id] > 1:
            report.add("events", f"event {event_id} published more than once", seq=seq, subject=msg.subject)
            continue
        mine = stored.get(event_id)
        if mine is None:
            report.add("events", f"message {seq} holds an event no event store has", subject=msg.subject,
                       event_id=event_id)
            continue
        order[(mine["service"], env.stream_id)].append(env.version)
        expected_subject = f"{EVENTS_PREFIX}.{mine['service']}.{mine['stream_id']}.{mine['type']}"
        if msg.subject != expected_subject:
            report.add("events", f"event {event_id} on the wrong subject", subject=msg.subject, expected=expected_subject)
        if (msg.headers or {}).get("Nats-Msg-Id") != event_id:
            report.add("events", f"event {event_id} published without its id as Nats-Msg-Id", seq=seq)
        published = _published(env)
        changed = sorted(k for k, v in published.items() if v != mine[k])
        if changed:
            report.add("events", f"event {event_id} differs from the stored one", seq=seq, fields=changed)
    for event_id, event in stored.items():
        if not seen[event_id]:
            report.add("events", f"event {event_id} is stored but not in {EVENTS_STREAM}", service=event["service"],
                       stream_id=event["stream_id"], version=event["version"], type=event["type"])
    for (service, stream_id), versions in order.items():
        if versions != sorted(versions):
            report.add("events", f"events of {service} stream {stream_id} published out of version order",
                       versions=versions)


# --- 4. department input -----------------------------------------------------------------------------------


async def check_ingest(pool: asyncpg.Pool, schemas: list[str], report: Report) -> None:
    """Every accepted department message has its events in the service's event store."""
    for schema in schemas:
        if not await pool.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{schema}.ingest_log"):
            continue
        rows = await pool.fetch(f"""
            SELECT l.stream_seq, l.message_id, ids.id AS event_id FROM {schema}.ingest_log l,
                   jsonb_array_elements_text(l.result -> 'event_ids') AS ids(id)
            WHERE l.status = 'accepted'
              AND NOT EXISTS (SELECT 1 FROM {schema}.events e WHERE e.event_id::text = ids.id)""")
        for r in rows:
            report.add("ingest", f"accepted department message {r['stream_seq']} of {schema} names an event that "
                       "is not stored", message_id=r["message_id"], event_id=r["event_id"])
        report.counts[f"department messages logged in {schema}"] = await pool.fetchval(
            f"SELECT count(*) FROM {schema}.ingest_log")
