"""Putting the data set in place: COPY into the services' event tables, then the outbox relay drains them.

The relay is the real `OutboxRelay` (shared/outbox.py) with the services' default settings, run in
the bench process one event table at a time, so its rate is measured alone, before any service
competes for the two cores. The services then start with their relay cursors already at the end.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from typing import Any

import asyncpg
import nats

from shared.bench.dataset import COPY_COLUMNS, Generator, Shape
from shared.bench.progress import Reporter
from shared.bench.stats import rate
from shared.config import Settings
from shared.contracts.base import registry
from shared.db import create_pool
from shared.eventstore.migrations import EVENTSTORE_MIGRATIONS, apply_migrations
from shared.eventstore.store import EventStore
from shared.outbox import OutboxRelay
from shared.streams import ensure_streams

CHUNK = 5000


async def seed(db_url: str, shape: Shape, seed_value: int, reporter: Reporter) -> dict[str, Any]:
    """Generate the data set and COPY it into `<service>.events`; return what was written."""
    gen = Generator(shape, seed_value)
    conn = await asyncpg.connect(db_url)
    buffers: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    per_schema: Counter[str] = Counter()
    ready: set[str] = set()
    copy_seconds = 0.0

    async def flush(schema: str) -> None:
        nonlocal copy_seconds
        if schema not in ready:
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            await conn.execute(f"SET search_path TO {schema}")
            await apply_migrations(conn, EVENTSTORE_MIGRATIONS)
            ready.add(schema)
        rows = buffers.pop(schema, [])
        t = time.perf_counter()
        await conn.copy_records_to_table("events", records=rows, columns=COPY_COLUMNS, schema_name=schema)
        copy_seconds += time.perf_counter() - t
        per_schema[schema] += len(rows)
        bar.update(len(rows))

    started = time.perf_counter()
    try:
        with reporter.bar(shape.expected_events(), "data set", "events") as bar:
            for row in gen.rows():
                buffers[row.schema].append(row.values)
                if len(buffers[row.schema]) >= CHUNK:
                    await flush(row.schema)
            for schema in list(buffers):
                await flush(schema)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    elapsed = time.perf_counter() - started
    total = sum(per_schema.values())
    reporter.line(f"  data set: {total:,} events ({', '.join(f'{s} {n:,}' for s, n in per_schema.items())}) "
                  f"in {elapsed:.1f} s")
    return {"shape": vars(shape), "seed": seed_value, "events": total, "by_schema": dict(per_schema),
            "by_type": dict(gen.counts), "left_out": gen.skipped, "seconds": round(elapsed, 2),
            "copy_rows_per_s": rate(total, copy_seconds)}


async def relay_backlog(nats_url: str, db_url: str, counts: dict[str, int], reporter: Reporter) -> dict[str, Any]:
    """Run the outbox relay over each seeded event table until all its events are on JetStream."""
    settings = Settings(nats_url=nats_url, database_url=db_url, log_level="warning")
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js, settings)
    runs = []
    try:
        for schema, count in counts.items():
            pool = await create_pool(settings, db_url, schema, f"bench-relay-{schema}")
            relay = OutboxRelay(service=schema, schema=schema, dsn=db_url, store=EventStore(pool, registry), js=js,
                                settings=settings)
            task = asyncio.create_task(relay.run())
            try:
                with reporter.bar(count, f"relay {schema}", "events") as bar:
                    while not relay.active:
                        if task.done():
                            raise RuntimeError(f"relay of {schema} stopped: {task.exception()!r}")
                        await asyncio.sleep(0.005)
                    started, seen = time.perf_counter(), 0
                    while relay.published < count:
                        if task.done():
                            raise RuntimeError(f"relay of {schema} stopped: {task.exception()!r}")
                        await asyncio.sleep(0.01)
                        bar.update(relay.published - seen)
                        seen = relay.published
                    elapsed = time.perf_counter() - started
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await pool.close()
            runs.append({"schema": schema, "events": count, "seconds": round(elapsed, 3),
                         "events_per_s": rate(count, elapsed)})
    finally:
        await nc.close()
    total, seconds = sum(r["events"] for r in runs), sum(r["seconds"] for r in runs)
    out = {"events": total, "seconds": round(seconds, 3), "events_per_s": rate(total, seconds), "by_schema": runs,
           "batch_size": settings.relay_batch_size}
    reporter.line(f"  outbox relay: {out['events_per_s']:,} events/s over {total:,} events")
    return out
