"""Checks 2 and 3 of `huimin verify`: read models and copies equal a rebuild from the event stream.

The rebuild goes into a scratch schema (`verify_<what>_<hex>`, dropped afterwards, never swapped
in); tables are compared row by row as multisets, ignoring only volatile columns (identity or
serial columns, and defaults from the clock or a random generator).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import asyncpg
import nats.js.errors
from nats.js import JetStreamContext

from shared.config import Settings
from shared.consumer import Delivery, Outcome
from shared.contracts.base import registry
from shared.db import check_schema_name, create_pool
from shared.eventstore.migrations import apply_migrations
from shared.eventstore.store import EventStore
from shared.readmodel import ReadModel
from shared.service import ServiceRuntime
from shared.subjects import EVENTS_PREFIX, EVENTS_STREAM

if TYPE_CHECKING:
    from shared.verify import Report

SCRATCH_PREFIX = "verify_"
# Columns whose value depends on when or how often a row was written, not on the events:
# identity/serial columns and defaults taken from the clock or a random generator.
_VOLATILE_DEFAULTS = ("nextval(", "now()", "current_timestamp", "clock_timestamp()", "statement_timestamp()",
                      "transaction_timestamp()", "random()", "gen_random_uuid()")
_SHOWN_PER_TABLE = 5


@contextlib.asynccontextmanager
async def scratch_schema(pool: asyncpg.Pool, label: str) -> AsyncIterator[str]:
    """A uniquely named schema to rebuild into, dropped afterwards."""
    name = check_schema_name(f"{SCRATCH_PREFIX}{label}_{uuid.uuid4().hex[:8]}")
    try:
        yield name
    finally:
        await pool.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


async def schema_exists(pool: asyncpg.Pool, schema: str) -> bool:
    return bool(await pool.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema))


async def stream_end(js: JetStreamContext) -> int:
    try:
        return (await js.stream_info(EVENTS_STREAM)).state.last_seq
    except nats.js.errors.NotFoundError:
        return 0


async def check_read_models(pool: asyncpg.Pool, js: JetStreamContext, settings: Settings, report: Report) -> None:
    """Invariant 4: the projection's live read models equal a rebuild from the event stream."""
    from services.projection.runner import LIVE_SCHEMA, ProjectionRunner  # noqa: PLC0415 (the projection's code)
    from services.projection.views import READ_MODELS  # noqa: PLC0415

    assert settings.database_url
    if not await schema_exists(pool, LIVE_SCHEMA):
        if await stream_end(js):
            report.add("read_models", f"the read models (schema {LIVE_SCHEMA}) do not exist, but events do")
        return
    runner = ProjectionRunner(pool, js, settings, READ_MODELS, registry, settings.database_url)
    async with scratch_schema(pool, "projection") as scratch:
        await runner._create_schema(scratch)
        await runner._replay(scratch, 1, await stream_end(js))
        tables = await _tables(pool, scratch)
        await compare_tables(pool, "read_models", LIVE_SCHEMA, scratch, tables, report)
        extra = sorted(set(await _tables(pool, LIVE_SCHEMA)) - set(tables))
        if extra:
            report.add("read_models", "live tables that a rebuild does not create", tables=extra)


def copy_rebuilder(pool: asyncpg.Pool, js: JetStreamContext, settings: Settings, models: list[ReadModel],
                   services: list[str]) -> Any:
    """The projection's replay, restricted to the subjects a service's copy follows."""
    from services.projection.runner import ProjectionRunner  # noqa: PLC0415

    prefixes = tuple(f"{EVENTS_PREFIX}.{s}." for s in services)

    class CopyRebuilder(ProjectionRunner):
        async def _apply(self, schema: str, batch: list[Delivery]) -> list[Outcome]:
            # Other services' events pass as if already applied, like the copy's filtered consumer.
            mine = [d for d in batch if d.subject.startswith(prefixes)]
            outcomes = iter(await super()._apply(schema, mine) if mine else [])
            return [next(outcomes) if d.subject.startswith(prefixes) else Outcome.DUPLICATE for d in batch]

    assert settings.database_url
    return CopyRebuilder(pool, js, settings, models, registry, settings.database_url)


# The service's own records, not its copy: the event store (checked against JetStream) and department input.
_NOT_COPIES = {"events", "event_cursors", "schema_migrations", "ingest_log", "ingest_dead_letters"}

_TOUCH_SQL = """
CREATE TABLE verify_touched (name text PRIMARY KEY);
CREATE FUNCTION verify_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO verify_touched VALUES (TG_TABLE_NAME) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
"""


async def check_copy(pool: asyncpg.Pool, js: JetStreamContext, settings: Settings, rt: ServiceRuntime,
                     report: Report) -> None:
    """A write service's copy of other services' events equals a rebuild of it.

    The copy's tables come from the service's migrations, beside tables its command handlers
    write; only the tables the replay writes to are compared (the others are listed as a note).
    """
    assert rt.followed is not None
    models, services = rt.followed
    check = f"copy:{rt.service}"
    if not await schema_exists(pool, rt.schema):
        return
    async with scratch_schema(pool, rt.service) as scratch:
        async with pool.acquire() as conn:
            await conn.execute(f"CREATE SCHEMA {scratch}; SET search_path TO {scratch}")
            try:
                await apply_migrations(conn, rt.migrations)
                await conn.execute(_TOUCH_SQL)
                for table in await _tables(pool, scratch):
                    if table != "verify_touched":
                        await conn.execute(f"""CREATE TRIGGER verify_touch AFTER INSERT OR UPDATE OR DELETE ON {table}
                                               FOR EACH STATEMENT EXECUTE FUNCTION verify_touch()""")
            finally:
                await conn.execute("RESET search_path")
        # An applier may act on its own service too (e.g. append events through rt.store with the
        # applier's connection): give the built runtime a pool and store in the scratch schema.
        assert settings.database_url
        rt.pool = await create_pool(settings, settings.database_url, scratch, "huimin-verify")
        rt.store = EventStore(rt.pool, registry)
        try:
            rebuilder = copy_rebuilder(pool, js, settings, models, services)
            await rebuilder._replay(scratch, 1, await stream_end(js))
        finally:
            await rt.pool.close()
            rt.pool, rt.store = None, None
        touched = sorted(r["name"] for r in await pool.fetch(f"SELECT name FROM {scratch}.verify_touched")
                         if r["name"] not in _NOT_COPIES)
        await compare_tables(pool, check, rt.schema, scratch, touched, report)
        untouched = sorted(set(await _tables(pool, rt.schema)) & set(await _tables(pool, scratch)) - set(touched))
        report.notes.append(f"{check}: compared {', '.join(touched) or 'no table'}; not compared (not the copy's): "
                            f"{', '.join(untouched) or 'none'}")


async def _tables(pool: asyncpg.Pool, schema: str) -> list[str]:
    rows = await pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1", schema)
    return [r["tablename"] for r in rows]


async def _volatile_columns(pool: asyncpg.Pool, schema: str, table: str) -> list[str]:
    rows = await pool.fetch(
        """SELECT a.attname, a.attidentity <> '' AS identity, pg_get_expr(d.adbin, d.adrelid) AS dflt
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
           WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped""", schema, table)
    return [r["attname"] for r in rows
            if r["identity"] or any(v in (r["dflt"] or "").lower() for v in _VOLATILE_DEFAULTS)]


async def _key_columns(pool: asyncpg.Pool, schema: str, table: str) -> list[str]:
    rows = await pool.fetch(
        """SELECT a.attname FROM pg_index i
           JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
           WHERE n.nspname = $1 AND c.relname = $2 AND i.indisprimary ORDER BY a.attnum""", schema, table)
    return [r["attname"] for r in rows]


async def compare_tables(pool: asyncpg.Pool, check: str, live: str, rebuilt: str, tables: list[str],
                         report: Report) -> None:
    """Compare tables row by row (as multisets), ignoring volatile columns; report rows that differ."""
    live_tables = set(await _tables(pool, live))
    for table in tables:
        if table not in live_tables:
            report.add(check, f"table {live}.{table} is missing (a rebuild creates it)")
            continue
        ignored = await _volatile_columns(pool, rebuilt, table)
        if ignored:
            report.ignored_columns[f"{live}.{table}"] = ignored
        key = [c for c in await _key_columns(pool, rebuilt, table) if c not in ignored]
        sql = """SELECT r FROM (SELECT to_jsonb(t) - $1::text[] AS r FROM {a}.{t} t) x
                 EXCEPT ALL SELECT r FROM (SELECT to_jsonb(t) - $1::text[] AS r FROM {b}.{t} t) y"""
        only_live = [r["r"] for r in await pool.fetch(sql.format(a=live, b=rebuilt, t=table), ignored)]
        only_rebuilt = [r["r"] for r in await pool.fetch(sql.format(a=rebuilt, b=live, t=table), ignored)]
        report.counts[f"rows in {live}.{table}"] = await pool.fetchval(f"SELECT count(*) FROM {live}.{table}")
        if only_live or only_rebuilt:
            _report_rows(report, check, f"{live}.{table}", key, only_live, only_rebuilt)


def _report_rows(report: Report, check: str, table: str, key: list[str], only_live: list[dict[str, Any]],
                 only_rebuilt: list[dict[str, Any]]) -> None:
    def keyed(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {json.dumps([r.get(k) for k in key], default=str): r for r in rows} if key else {}

    live_by_key, rebuilt_by_key = keyed(only_live), keyed(only_rebuilt)
    both = [k for k in live_by_key if k in rebuilt_by_key]
    changed = [{"key": json.loads(k), "live": {c: v for c, v in live_by_key[k].items() if rebuilt_by_key[k].get(c) != v},
                "rebuild": {c: v for c, v in rebuilt_by_key[k].items() if live_by_key[k].get(c) != v}}
               for k in both]
    extra = [r for r in only_live if not key or json.dumps([r.get(k) for k in key], default=str) not in both]
    missing = [r for r in only_rebuilt if not key or json.dumps([r.get(k) for k in key], default=str) not in both]
    report.add(check, f"{table} differs from a rebuild", rows_changed=len(changed), rows_only_live=len(extra),
               rows_only_in_rebuild=len(missing), changed=changed[:_SHOWN_PER_TABLE],
               only_live=extra[:_SHOWN_PER_TABLE], only_in_rebuild=missing[:_SHOWN_PER_TABLE])
