"""One benchmark run: servers, baselines, data set, services, every measurement, the report.

A measurement whose path does not exist yet (a service or view still to come) is recorded as
not available with the reason; a measurement that fails is recorded with its error and the run
goes on. Nothing here asserts a time: these are measurements.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import nats

from shared.bench import baselines, commands, ingest, queries, rebuild, report, seeding
from shared.bench.cpu import CpuMeter
from shared.bench.dataset import Shape
from shared.bench.options import Options
from shared.bench.profile import Profile
from shared.bench.progress import Reporter
from shared.bench.settle import settle
from shared.bench.stack import SERVICE_ENV, BenchStack
from shared.bench.stats import summarise
from shared.config import Settings
from shared.logging import configure_logging
from shared.runtime.processes import freeze_startup_heap
from shared.rpc import RpcClient

PEER_DATABASE = "es_peer"
NEEDS_SERVICES = {"rebuild", "commands", "ingest", "queries", "queries_http", "memory"}


class Run:
    """The state of one run, and its phases in order."""

    def __init__(self, options: Options) -> None:
        self.o = options
        self.reporter = Reporter(options.progress)
        self.stack = BenchStack(fast_unsafe=options.fast_unsafe, workdir=options.workdir)
        self.shape = Shape.at(options.scale)
        self.result: dict[str, Any] = {"meta": self._meta()}
        self.errors: list[str] = []
        self.nc: nats.NATS | None = None

    def _meta(self) -> dict[str, Any]:
        mem_kib = next((int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
        return {"command": self.o.command_line, "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "scale": self.o.scale, "seed": self.o.seed, "runs": self.o.runs, "fast_unsafe": self.o.fast_unsafe,
                "python": platform.python_version(), "cores": os.cpu_count(),
                "memory_gib": round(mem_kib / 1024 / 1024, 1), "commands_per_run": self.o.commands,
                "baseline_rows_per_run": self.o.baseline_rows, "ingest_seconds": self.o.ingest_seconds,
                "lag_seconds": self.o.lag_seconds, "service_settings_changed": SERVICE_ENV,
                # Other work on the machine skews every figure: the load average says how much there was.
                "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}

    async def phase(self, name: str, fn: Callable[[], Awaitable[dict[str, Any]]],
                    profile: list[tuple[str, int | None]] | None = None,
                    work: Callable[[dict[str, Any]], tuple[int, str]] | None = None) -> dict[str, Any]:
        """Run one measurement, record it (or why it could not be made), never stop the run.

        With `work` (the units of work a result did, and their name), the CPU time of every process
        during the phase is recorded too, per process and per unit.
        """
        if not self.o.wants(name):
            self.result[name] = {"available": False, "reason": "not asked for in this run (--only)"}
            return self.result[name]
        self.reporter.line(f"▸ {name}")
        # The load generator's own pauses would count as the services' latency: what it holds so far
        # (the data set's rows, earlier results) is frozen out of its garbage collector's walks.
        freeze_startup_heap()
        started = time.perf_counter()
        meter = CpuMeter(self._pids(), load_generator="bench") if work else None
        try:
            if meter:
                meter.start()
            async with self._profiled(name, profile or []):
                value = await fn()
            value.setdefault("available", True)
        except Exception as exc:  # noqa: BLE001 (one broken measurement must not lose the others)
            traceback.print_exc(file=sys.stderr)
            value = {"available": False, "error": f"{type(exc).__name__}: {exc}"}
            self.errors.append(name)
        if meter and work and value.get("available"):
            try:
                value["cpu"] = meter.stop(*work(value))
            except (KeyError, TypeError) as exc:  # a result without the expected counts: keep the measurement
                value["cpu"] = {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
        value["phase_seconds"] = round(time.perf_counter() - started, 2)
        self.result[name] = value
        return value

    def _pids(self) -> dict[str, int | None]:
        """Every process of the stack: the services, the two servers, and this load generator."""
        pids: dict[str, int | None] = {name: self.stack.pid(name) for name in self.stack.children}
        for label, server in (("nats-server", self.stack.nats), ("postgres", self.stack.pg)):
            pids[label] = server.proc.pid if server is not None and server.proc is not None else None
        return pids | {"bench": os.getpid()}

    @contextlib.asynccontextmanager
    async def _profiled(self, phase: str, targets: list[tuple[str, int | None]]) -> AsyncIterator[None]:
        if not self.o.profile or not targets:
            yield
            return
        out_dir = self.o.json_path.parent / "perf-profiles"
        running = [(label, Profile(pid, out_dir / f"{phase}-{label}.txt")) for label, pid in targets if pid]
        try:
            yield
        finally:
            profiles = self.result.setdefault("profiles", {})
            for label, prof in running:
                profiles[f"{phase} ({label})"] = prof.stop()

    # -- the run -------------------------------------------------------------------------------

    async def execute(self) -> dict[str, Any]:
        """Every phase in order; the servers and services are stopped whatever happens."""
        started = time.perf_counter()
        try:
            nats_url, db_url = self.stack.start_servers()
            self.reporter.line(f"servers: NATS {nats_url}, PostgreSQL {db_url} "
                               f"({'fsync off' if self.o.fast_unsafe else 'fsync on'})")
            self.nc = await nats.connect(nats_url)
            await self._versions(db_url)
            await self.phase("baselines", lambda: baselines.measure(
                nats_url, db_url, rows=self.o.baseline_rows, runs=self.o.runs, seed=self.o.seed,
                seconds=self.o.baseline_seconds, reporter=self.reporter))
            data = await self.phase("dataset", lambda: seeding.seed(db_url, self.shape, self.o.seed, self.reporter))
            if data.get("by_schema"):
                await self.phase("relay", lambda: seeding.relay_backlog(nats_url, db_url, data["by_schema"],
                                                                        self.reporter),
                                 profile=[("bench", os.getpid())])
            else:
                self.result["relay"] = {"available": False, "reason": "no data set in this run"}
            if self.o.only & NEEDS_SERVICES:
                await self._start_services()
            await self.phase("rebuild", self._rebuild,
                             profile=[("projection", self.stack.pid("projection"))])
            await self.phase("commands", self._commands, profile=[("projects", self.stack.pid("projects"))],
                             work=lambda r: (2 * self.o.runs * r["commands_per_run"], "command"))
            await self.phase("peer", lambda: self._peer(db_url))
            await self.phase("ingest", lambda: ingest.measure(
                self.nc, db_url, self.shape, runs=self.o.runs, seconds=self.o.ingest_seconds,
                lag_seconds=self.o.lag_seconds, reporter=self.reporter),
                profile=[("projects", self.stack.pid("projects")), ("projection", self.stack.pid("projection"))],
                work=lambda r: (sum(x["reports"] for x in r["runs"]) + r["lag"]["reports"], "report"))
            await self.phase("queries", lambda: queries.measure(self.nc, self.shape, samples=self.o.query_samples,
                                                                runs=self.o.runs, reporter=self.reporter),
                             profile=[("projection", self.stack.pid("projection"))])
            await self.phase("queries_http", lambda: self._http_queries(db_url))
            await self.phase("memory", self._memory)
        finally:
            if self.nc is not None:
                await self.nc.close()
            self.stack.stop(keep=self.o.workdir is not None)
        self.result["meta"]["seconds"] = round(time.perf_counter() - started, 1)
        self.result["meta"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        self.result["meta"]["phase_errors"] = self.errors
        self.result["targets"] = report.targets(self.result)
        return self.result

    async def _versions(self, db_url: str) -> None:
        conn = await asyncpg.connect(db_url)
        try:
            self.result["meta"]["postgres_version"] = await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()
        assert self.nc is not None
        self.result["meta"]["nats_version"] = "{0.major}.{0.minor}.{0.patch}".format(self.nc.connected_server_version)

    async def _start_services(self) -> None:
        names = self.stack.start_services()
        self.reporter.line(f"▸ services: starting {', '.join(names)}")
        ready = await self.stack.wait_ready(names, timeout=120)
        up = [n for n, why in ready.items() if why is None]
        info: dict[str, Any] = {"started": up, "not_ready": {n: why for n, why in ready.items() if why}}
        if info["not_ready"]:
            self.reporter.line(f"  not ready: {info['not_ready']}")
        assert self.nc is not None
        # A generous bound: under load the projection builds a few hundred events a second.
        timeout = max(300.0, self.shape.expected_events() / 100)
        info["settle"] = await settle(self.nc.jetstream(), RpcClient(self.nc, timeout=2),
                                      [n for n in up if n != "gateway"], self.reporter, timeout)
        self.reporter.line(f"  settled in {info['settle']['seconds']} s"
                           + ("" if info["settle"]["settled"] else f" (NOT settled: {info['settle']['still_busy']})"))
        self.result["services"] = info

    async def _rebuild(self) -> dict[str, Any]:
        settled = (self.result.get("services") or {}).get("settle", {}).get("settled")
        if not settled:
            # A rebuild asked for while the projection still builds at start would race it.
            return {"available": False, "reason": "the system had not settled (the projection was still building)"}
        assert self.nc is not None
        return await rebuild.measure(self.nc, runs=self.o.runs, budget_s=180, reporter=self.reporter)

    async def _commands(self) -> dict[str, Any]:
        assert self.nc is not None
        why_not = await commands.available(self.nc)
        if why_not:
            return {"available": False, "reason": why_not}
        return await commands.measure(self.nc, self.shape, n=self.o.commands, runs=self.o.runs,
                                      reporter=self.reporter)

    async def _peer(self, db_url: str) -> dict[str, Any]:
        try:
            version = importlib.metadata.version("eventsourcing")
            importlib.metadata.version("psycopg")
        except importlib.metadata.PackageNotFoundError:
            return {"available": False, "reason": "eventsourcing/psycopg not installed: pip install -e '.[bench]'"}
        admin = await asyncpg.connect(db_url)
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {PEER_DATABASE} WITH (FORCE)")
            await admin.execute(f"CREATE DATABASE {PEER_DATABASE}")
        finally:
            await admin.close()
        dsn = db_url.rsplit("/", 1)[0] + f"/{PEER_DATABASE}"
        out: dict[str, Any] = {"version": version, "events": self.o.commands}
        for threads in (1, 32):
            runs = []
            for _ in range(self.o.runs):
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "shared.bench.peer", dsn, str(self.o.commands), str(threads),
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
                stdout, stderr = await proc.communicate()
                if proc.returncode != 0:
                    raise RuntimeError(f"peer failed: {stderr.decode(errors='replace')[-800:]}")
                runs.append(json.loads(stdout.decode().strip().splitlines()[-1]))
            out[f"threads_{threads}"] = summarise(runs, ["events_per_s"])
            self.reporter.line(f"  eventsourcing peer, {threads} thread(s): "
                               f"{out[f'threads_{threads}']['events_per_s']} events/s")
        return out

    async def _http_queries(self, db_url: str) -> dict[str, Any]:
        if "gateway" not in (self.result.get("services") or {}).get("started", []):
            return {"available": False, "reason": "no gateway running (services/gateway not there or not ready)"}
        measured = queries.for_http(self.result.get("queries") or {})
        if not measured:
            return {"available": False, "reason": "no query was measured over NATS"}
        assert self.stack.gateway_port is not None
        return {"queries": await queries.measure_http(self.stack.gateway_port, db_url, measured,
                                                      samples=self.o.query_samples, runs=self.o.runs,
                                                      reporter=self.reporter)}

    async def _memory(self) -> dict[str, Any]:
        return {"services": self.stack.peak_memory(), "servers": self.stack.server_memory(),
                "unit": "KiB (VmHWM: peak resident set since the process started)"}


async def run(options: Options) -> dict[str, Any]:
    """Run the benchmark and write its result file and report."""
    configure_logging(Settings(log_level="warning", log_format="console"), "bench")
    r = Run(options)
    result = await r.execute()
    report.write(result, options.json_path, options.markdown_path)
    r.reporter.line(f"results: {options.json_path}" + (f", {options.markdown_path}" if options.markdown_path else ""))
    for t in result["targets"]:
        met = "—" if t["met"] is None else ("met" if t["met"] else "NOT met")
        r.reporter.line(f"  target {t['target']}: {t['value']} ({t['bound']}) {met}")
    return result
