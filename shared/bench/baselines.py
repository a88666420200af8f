"""Raw baselines on the bench's own servers: what PostgreSQL, asyncpg and NATS do with no Huimin code."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import time
import uuid
from typing import Any

import asyncpg
import nats
import nats.errors
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig

from shared.bench.dataset import COPY_COLUMNS, Generator, Shape
from shared.bench.progress import Reporter
from shared.bench.stats import latency_ms, rate, summarise
from shared.eventstore.migrations import EVENTSTORE_MIGRATIONS, apply_migrations

RAW_SCHEMA = "bench_raw"
RAW_STREAM = "BENCH_RAW"
RAW_SUBJECT = "bench.raw"
ECHO_SUBJECT = "bench.echo"
COPY_CHUNK = 5000
# A message of the size of a department's progress report (the ingest path sends these).
MESSAGE = json.dumps({"message_id": "bench-000000", "year": 2026, "code": "c01-001", "as_of": "2026-11-15",
                      "percent": 42.5, "milestones_completed": ["前期手续"], "narrative": "按计划推进，本月完成既定工作量。" * 6,
                      "funds_spent_wan": 120.0}, ensure_ascii=False).encode()


async def measure(nats_url: str, db_url: str, *, rows: int, runs: int, seed: int, seconds: float,
                  reporter: Reporter) -> dict[str, Any]:
    """Every raw baseline, each the median of `runs` runs."""
    sample = _sample_rows(rows, seed)
    out: dict[str, Any] = {"rows_per_run": rows, "mean_row_bytes": round(
        sum(len(r[5]) + len(r[6]) + len(r[0]) + 60 for r in sample) / len(sample))}
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {RAW_SCHEMA} CASCADE; CREATE SCHEMA {RAW_SCHEMA}")
        await conn.execute(f"SET search_path TO {RAW_SCHEMA}")
        await apply_migrations(conn, EVENTSTORE_MIGRATIONS)
        out["pg_copy"] = summarise([await _copy(conn, sample, reporter) for _ in range(runs)], ["rows_per_s"])
        reporter.line(f"  asyncpg COPY: {out['pg_copy']['rows_per_s']:,} rows/s")
        out["pg_single_commit"] = summarise([await _single_commits(conn, sample, 1, seconds=seconds)
                                             for _ in range(runs)], ["rows_per_s"])
        out["pg_single_commit_32"] = summarise([await _single_commits(conn, sample, 32, db_url, seconds)
                                                for _ in range(runs)],
                                               ["rows_per_s"])
        reporter.line(f"  asyncpg single-row commits: {out['pg_single_commit']['rows_per_s']:,}/s (1 connection), "
                      f"{out['pg_single_commit_32']['rows_per_s']:,}/s (32 connections)")
        out["pg_round_trip"] = summarise([await _round_trips(conn, 2000) for _ in range(runs)], ["p50_ms", "p99_ms"])
        await conn.execute(f"DROP SCHEMA {RAW_SCHEMA} CASCADE")
    finally:
        await conn.close()
    nc = await nats.connect(nats_url)
    try:
        out |= await _jetstream(nc, rows, runs, reporter)
        out["nats_request_reply"] = await _request_reply(nc, nats_url, runs)
        reporter.line(f"  NATS request/reply p50: {out['nats_request_reply']['p50_ms']} ms; PostgreSQL round trip "
                      f"p50: {out['pg_round_trip']['p50_ms']} ms")
    finally:
        await nc.close()
    return out


def _sample_rows(n: int, seed: int) -> list[tuple[Any, ...]]:
    # Rows like the data set's, from a generator of its own seed so no event id collides.
    shape = Shape.at(max(0.002, n / 1_000_000))
    return [row.values for row in itertools.islice(Generator(shape, seed + 1).rows(), n)]


async def _copy(conn: asyncpg.Connection, sample: list[tuple[Any, ...]], reporter: Reporter) -> dict[str, Any]:
    await conn.execute("TRUNCATE events RESTART IDENTITY")
    with reporter.bar(len(sample), "COPY", "rows") as bar:
        started = time.perf_counter()
        for i in range(0, len(sample), COPY_CHUNK):
            chunk = sample[i:i + COPY_CHUNK]
            await conn.copy_records_to_table("events", records=chunk, columns=COPY_COLUMNS, schema_name=RAW_SCHEMA)
            bar.update(len(chunk))
        elapsed = time.perf_counter() - started
    return {"rows": len(sample), "seconds": round(elapsed, 3), "rows_per_s": rate(len(sample), elapsed)}


_INSERT = f"""INSERT INTO {RAW_SCHEMA}.events (stream_id, version, event_id, type, schema_version, data, meta,
              occurred_at, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"""


async def _single_commits(conn: asyncpg.Connection, sample: list[tuple[Any, ...]], clients: int,
                          db_url: str | None = None, seconds: float = 3.0) -> dict[str, Any]:
    """One row per transaction (autocommit), for a few seconds, from `clients` connections."""
    await conn.execute("TRUNCATE events RESTART IDENTITY")
    conns = [conn] if clients == 1 else [await asyncpg.connect(db_url) for _ in range(clients)]
    rows = iter(sample * 50)
    counter = itertools.count()
    done = 0

    async def client(c: asyncpg.Connection, deadline: float) -> None:
        nonlocal done
        stmt = await c.prepare(_INSERT)
        while time.perf_counter() < deadline:
            r = next(rows)
            # A fresh stream id and event id per row: nothing collides when the sample repeats.
            n = next(counter)
            await stmt.fetch(f"raw-{n}", 1, _uuid(n), *r[3:])
            done += 1

    try:
        started = time.perf_counter()
        await asyncio.gather(*(client(c, started + seconds) for c in conns))
        elapsed = time.perf_counter() - started
    finally:
        for c in conns[1:]:
            await c.close()
    return {"clients": clients, "rows": done, "seconds": round(elapsed, 3), "rows_per_s": rate(done, elapsed)}


def _uuid(n: int) -> uuid.UUID:
    return uuid.UUID(int=(0xB0 << 120) | n)


async def _round_trips(conn: asyncpg.Connection, n: int) -> dict[str, Any]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        await conn.fetchval("SELECT 1")
        times.append(time.perf_counter() - t)
    return latency_ms(times)


async def _jetstream(nc: nats.NATS, n: int, runs: int, reporter: Reporter) -> dict[str, Any]:
    """Async publish into a file-backed stream like HUIMIN_INGEST, then a pull consumer reading it back."""
    js = nc.jetstream()
    try:
        await js.delete_stream(RAW_STREAM)
    except nats.js.errors.NotFoundError:
        pass
    await js.add_stream(StreamConfig(name=RAW_STREAM, subjects=[f"{RAW_SUBJECT}.>"], storage=StorageType.FILE))
    publish, consume = [], []
    try:
        for run in range(runs):
            await js.purge_stream(RAW_STREAM)
            with reporter.bar(n, "JetStream publish", "msg") as bar:
                started = time.perf_counter()
                futures = []
                for i in range(n):
                    futures.append(await js.publish_async(f"{RAW_SUBJECT}.dept{i % 16}", MESSAGE))
                    if i % 1000 == 999:
                        bar.update(1000)
                await asyncio.gather(*futures)
                elapsed = time.perf_counter() - started
            publish.append({"messages": n, "seconds": round(elapsed, 3), "msgs_per_s": rate(n, elapsed)})
            consume.append(await _pull_consume(js, n, f"raw{run}", reporter))
    finally:
        await js.delete_stream(RAW_STREAM)
    out = {"js_async_publish": summarise(publish, ["msgs_per_s"]),
           "js_pull_consume": summarise(consume, ["msgs_per_s"])}
    reporter.line(f"  JetStream async publish: {out['js_async_publish']['msgs_per_s']:,} msg/s; pull-consume "
                  f"(fetch 500, ack each): {out['js_pull_consume']['msgs_per_s']:,} msg/s")
    return out


async def _pull_consume(js: Any, n: int, durable: str, reporter: Reporter) -> dict[str, Any]:
    await js.add_consumer(RAW_STREAM, ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT,
                                                     max_ack_pending=20_000))
    sub = await js.pull_subscribe_bind(durable, stream=RAW_STREAM)
    got = 0
    with reporter.bar(n, "JetStream pull", "msg") as bar:
        started = time.perf_counter()
        while got < n:
            try:
                msgs = await sub.fetch(500, timeout=2)
            except nats.errors.TimeoutError:
                break
            for m in msgs:
                await m.ack()
            got += len(msgs)
            bar.update(len(msgs))
        elapsed = time.perf_counter() - started
    await sub.unsubscribe()
    await js.delete_consumer(RAW_STREAM, durable)
    return {"messages": got, "seconds": round(elapsed, 3), "msgs_per_s": rate(got, elapsed)}


async def _request_reply(nc: nats.NATS, url: str, runs: int, n: int = 2000) -> dict[str, Any]:
    """Sequential requests to a bare responder in another process (as a service would be)."""
    echo = subprocess.Popen([sys.executable, "-m", "shared.bench.echo", url, ECHO_SUBJECT],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert echo.stdout is not None
        await asyncio.get_running_loop().run_in_executor(None, echo.stdout.readline)
        results = []
        for _ in range(runs):
            times = []
            for _ in range(n):
                t = time.perf_counter()
                await nc.request(ECHO_SUBJECT, MESSAGE, timeout=5)
                times.append(time.perf_counter() - t)
            results.append(latency_ms(times))
        return summarise(results, ["p50_ms", "p99_ms"])
    finally:
        echo.terminate()
        echo.wait(10)
