"""Department ingest: progress reports from HUIMIN_INGEST to a visible read-model row.

Departments publish `ProgressMessage`s on `huimin.ingest.<dept>.progress` (JetStream). A report
counts as visible when the projection has applied its event: the projection's per-stream version
of the project (committed with the read-model rows, in the same transaction) reaches the version
the report created. The max rate keeps a bounded backlog in the stream for `seconds`, then waits
for the last report to be visible; the lag is sampled at half that rate.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from nats.aio.client import Client as NatsClient

from shared.bench.dataset import YEAR, Shape
from shared.bench.progress import Reporter
from shared.bench.stats import latency_ms, rate
from shared.subjects import INGEST_RESULT_PREFIX, ingest_subject
from shared.timeutil import local_date

MIN_BACKLOG, MAX_BACKLOG = 50, 2000  # reports kept waiting in the stream while the max rate is measured
MILESTONES = ["前期手续", "开工建设", "主体完工"]  # done by the data set's last report (15 November)


class Tracker:
    """Publishes reports, follows their results and their visibility in the read models."""

    def __init__(self, nc: NatsClient, db: asyncpg.Connection, shape: Shape, tag: str,
                 reports: dict[int, int]) -> None:
        self.nc, self.js, self.db, self.shape, self.tag = nc, nc.jetstream(), db, shape, tag
        self.as_of = min(local_date(datetime.now(UTC)), date(YEAR, 12, 31)).isoformat()
        self.sent: dict[str, tuple[int, float]] = {}  # message_id -> (project, publish time)
        self.results: dict[str, int] = defaultdict(int)
        self.first_rejection: dict[str, Any] | None = None
        self.accepted: dict[int, int] = defaultdict(int)
        self.waiting: dict[int, list[tuple[int, float]]] = defaultdict(list)  # project -> [(version, sent at)]
        self.base: dict[int, int] = {}
        self.lags: list[float] = []
        self.visible = 0
        self.last_visible_at = 0.0
        self._seq = itertools.count()
        self._reports = reports  # reports sent per project over the whole run: percent only goes up

    async def start(self) -> None:
        """Learn each project's current version and listen for results."""
        ids = {self.shape.project_id(p): p for p in range(self.shape.projects)}
        rows = await self.db.fetch("SELECT stream_id, max(version) AS v FROM projects.events "
                                   "WHERE stream_id = ANY($1::text[]) GROUP BY stream_id", list(ids))
        self.base = {ids[r["stream_id"]]: r["v"] for r in rows}
        self.sub = await self.nc.subscribe(f"{INGEST_RESULT_PREFIX}.>", cb=self._on_result)

    async def stop(self) -> None:
        """Stop listening."""
        await self.sub.unsubscribe()

    async def publish(self) -> None:
        """Send one report, for the next project in turn, from its lead unit."""
        n = next(self._seq)
        p = n % self.shape.projects
        self._reports[p] += 1
        message_id = f"bench-{self.tag}-{n}"
        body = {"message_id": message_id, "year": YEAR, "code": self.shape.project_code(p), "as_of": self.as_of,
                "percent": min(100.0, 80 + self._reports[p] / 100), "milestones_completed": MILESTONES,
                "narrative": "按计划推进，本周完成既定工作量。"}
        self.sent[message_id] = (p, time.perf_counter())
        await self.js.publish_async(ingest_subject(self.shape.lead_unit(p), "progress"),
                                    json.dumps(body, ensure_ascii=False).encode())

    async def _on_result(self, msg: Any) -> None:
        result = json.loads(msg.data)
        mine = self.sent.get(result.get("message_id") or "")
        if mine is None:
            return
        status = result.get("status", "?")
        self.results[status] += 1
        if status == "accepted":
            p, sent_at = mine
            self.accepted[p] += 1
            self.waiting[p].append((self.base.get(p, 0) + self.accepted[p], sent_at))
        elif self.first_rejection is None:
            self.first_rejection = result

    @property
    def answered(self) -> int:
        """Reports that got a result."""
        return sum(self.results.values())

    async def poll_visible(self) -> None:
        """Mark the reports whose event the projection has applied."""
        pending = [self.shape.project_id(p) for p, w in self.waiting.items() if w]
        if not pending:
            return
        rows = await self.db.fetch("SELECT stream_id, version FROM projection.stream_versions "
                                   "WHERE stream_id = ANY($1::text[])", pending)
        now = time.perf_counter()
        seen = {r["stream_id"]: r["version"] for r in rows}
        for p, waiting in self.waiting.items():
            version = seen.get(self.shape.project_id(p), 0)
            while waiting and waiting[0][0] <= version:
                _, sent_at = waiting.pop(0)
                self.lags.append(now - sent_at)
                self.visible += 1
                self.last_visible_at = now

    async def drain(self, timeout: float) -> bool:
        """Wait until every report sent is answered and visible (or rejected)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            await self.poll_visible()
            if self.answered >= len(self.sent) and not any(self.waiting.values()):
                return True
            await asyncio.sleep(0.02)
        return False


async def probe(nc: NatsClient, db: asyncpg.Connection, shape: Shape, reports: dict[int, int]) -> str | None:
    """None when a progress report becomes visible within a few seconds, else why not."""
    try:
        await db.fetchval("SELECT 1 FROM projection.stream_versions LIMIT 1")
    except asyncpg.UndefinedTableError:
        return "the projection's read models are not there (projection service not running)"
    t = Tracker(nc, db, shape, "probe", reports)
    await t.start()
    try:
        await t.publish()
        if not await t.drain(15):
            return "no accepted, visible result for a progress report within 15 s"
        if t.first_rejection is not None:
            return f"a valid progress report was rejected: {t.first_rejection.get('reasons')}"
        return None
    finally:
        await t.stop()


async def _max_rate(nc: NatsClient, db: asyncpg.Connection, shape: Shape, seconds: float, tag: str,
                    reports: dict[int, int], reporter: Reporter) -> dict[str, Any]:
    t = Tracker(nc, db, shape, tag, reports)
    await t.start()
    try:
        with reporter.bar(None, "ingest (max rate)", "reports") as bar:
            started, shown = time.perf_counter(), 0
            while time.perf_counter() - started < seconds:
                # A backlog of about two seconds of work keeps the consumer busy without a long tail.
                answered_per_s = t.answered / max(0.5, time.perf_counter() - started)
                backlog = min(MAX_BACKLOG, max(MIN_BACKLOG, round(2 * answered_per_s)))
                while len(t.sent) - t.answered < backlog:
                    await t.publish()
                await t.poll_visible()
                bar.update(t.visible - shown)
                shown = t.visible
                await asyncio.sleep(0.02)
            drained = await t.drain(120)
        elapsed = t.last_visible_at - started
    finally:
        await t.stop()
    return {"reports": len(t.sent), "visible": t.visible, "results": dict(t.results), "drained": drained,
            "first_rejection": t.first_rejection, "seconds": round(elapsed, 3),
            "reports_per_s": rate(t.visible, elapsed)}


async def _lag_at(nc: NatsClient, db: asyncpg.Connection, shape: Shape, per_s: float, seconds: float, tag: str,
                  reports: dict[int, int], reporter: Reporter) -> dict[str, Any]:
    t = Tracker(nc, db, shape, tag, reports)
    await t.start()
    interval = 1 / per_s
    try:
        with reporter.bar(None, f"ingest lag at {per_s:.0f}/s", "reports"):
            started = time.perf_counter()
            n = 0
            while time.perf_counter() - started < seconds:
                due = started + n * interval
                now = time.perf_counter()
                if now < due:
                    await t.poll_visible()
                    await asyncio.sleep(min(0.01, max(0.0, due - time.perf_counter())))
                    continue
                await t.publish()
                n += 1
            drained = await t.drain(60)
    finally:
        await t.stop()
    return {"rate_per_s": round(per_s, 1), "reports": len(t.sent), "drained": drained, "results": dict(t.results),
            "first_rejection": t.first_rejection,
            **{f"lag_{k}": v for k, v in latency_ms(t.lags).items()}}


async def measure(nc: NatsClient, db_url: str, shape: Shape, *, runs: int, seconds: float, lag_seconds: float,
                  reporter: Reporter) -> dict[str, Any]:
    """Max sustained ingest rate (median of runs) and the read-model lag at half of it."""
    db = await asyncpg.connect(db_url)
    try:
        reports: dict[int, int] = defaultdict(int)
        why_not = await probe(nc, db, shape, reports)
        if why_not:
            return {"available": False, "reason": why_not}
        max_runs = [await _max_rate(nc, db, shape, seconds, f"max{r}", reports, reporter) for r in range(runs)]
        best = sorted(r["reports_per_s"] or 0 for r in max_runs)[len(max_runs) // 2]
        reporter.line(f"  ingest: {best}/s sustained for {seconds:.0f} s (median of {runs})")
        lag = await _lag_at(nc, db, shape, max(1.0, best / 2), lag_seconds, "lag", reports, reporter)
        reporter.line(f"  read-model lag at {lag['rate_per_s']}/s: p50 {lag['lag_p50_ms']} ms, "
                      f"p99 {lag['lag_p99_ms']} ms")
    finally:
        await db.close()
    return {"available": True, "subject": ingest_subject("<dept>", "progress"), "sustain_s": seconds,
            "reports_per_s": best, "runs": max_runs, "lag": lag}
