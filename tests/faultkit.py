"""Fault-test kit: services as child processes (kill -9, restart), a mixed load that records what was
acknowledged, and the checks that nothing acknowledged was lost. Used by tests/integration/test_faults_*
and by the soak (tests/soak/run.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient

from shared import demo
from shared.config import Settings
from shared.contracts.base import Command
from shared.rpc import RpcClient, encode
from shared.service import ServiceRuntime
from shared.runtime.processes import spawn, stop
from shared.subjects import EVENTS_STREAM, INGEST_STREAM, command_subject, health_subject, ingest_subject
from shared.verify import Report, format_report, service_runtimes, verify
from tests.strategies import command_bodies, examples

ROOT = Path(__file__).resolve().parents[1]

# Short timings, as in the `settings` fixture: faults are noticed and recovered from in tests' time.
FAST_ENV = {
    "HUIMIN_LOG_LEVEL": "warning",
    "HUIMIN_LOG_FORMAT": "json",
    "HUIMIN_RELAY_POLL_INTERVAL_S": "0.2",
    "HUIMIN_PROJECTION_FETCH_TIMEOUT_S": "0.2",
    "HUIMIN_PROJECTION_NAK_DELAY_S": "0.2",
    "HUIMIN_PROJECTION_GAP_DELAY_S": "0.3",
    "HUIMIN_CONSUMER_ACK_WAIT_S": "3",  # a message in flight at a kill -9 comes back after this
    "HUIMIN_DB_ACQUIRE_TIMEOUT_S": "1.0",
    "HUIMIN_RPC_TIMEOUT_S": "5.0",
}


class ServiceProcesses:
    """Huimin services run as `python -m services.<name>`, which a test can kill -9 and restart."""

    def __init__(self, nats_url: str, database_url: str, log_dir: Path) -> None:
        self.env = {**os.environ, **FAST_ENV, "NATS_URL": nats_url, "DATABASE_URL": database_url}
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.kills: Counter[str] = Counter()
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, *names: str) -> None:
        """Start services (each logs to log_dir/<name>.log)."""
        for name in names:
            self.procs[name] = spawn([sys.executable, "-m", f"services.{name}"], env=self.env, cwd=ROOT,
                                     log_path=self.log_dir / f"{name}.log")

    def kill(self, name: str) -> None:
        """kill -9: no clean-up of any kind."""
        proc = self.procs[name]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        self.kills[name] += 1

    def restart(self, name: str) -> None:
        """kill -9 the service, then start it again."""
        self.kill(name)
        self.start(name)

    def stop_all(self) -> None:
        """Stop every service (SIGTERM, then SIGKILL after a while)."""
        for proc in self.procs.values():
            stop(proc, signal.SIGTERM, timeout=10)

    def log_tail(self, name: str, chars: int = 3000) -> str:
        """The end of a service's log, for failure messages."""
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    async def wait_ready(self, client: RpcClient, names: list[str] | None = None, timeout: float = 30.0) -> None:
        """Wait until each service answers its health request as ready."""
        for name in names or list(self.procs):
            try:
                async with asyncio.timeout(timeout):
                    while not (await client.request(health_subject(name), {}, timeout=1)).get("ready"):
                        if self.procs[name].poll() is not None:
                            raise AssertionError(f"{name} exited:\n{self.log_tail(name)}")
                        await asyncio.sleep(0.1)
            except TimeoutError:
                raise AssertionError(f"{name} not ready in {timeout}s:\n{self.log_tail(name)}") from None


async def connect(url: str) -> NatsClient:
    """A client that keeps reconnecting while NATS restarts."""
    async def quiet(_: Exception) -> None:
        pass

    return await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.2, error_cb=quiet)


@dataclass
class Tally:
    """What the load sent and what came back."""

    sent: Counter[str] = field(default_factory=Counter)  # per service
    outcomes: Counter[str] = field(default_factory=Counter)  # ok / validation / conflict / unavailable / ...
    acknowledged: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (service, ok reply)
    internal: list[tuple[str, Any, dict[str, Any]]] = field(default_factory=list)
    refusals: Counter[str] = field(default_factory=Counter)  # "command: code reason" -> count
    published: list[tuple[str, int]] = field(default_factory=list)  # department messages: (kind, stream seq)
    publish_failed: int = 0

    def acknowledged_by(self, service: str) -> int:
        """How many commands a service acknowledged."""
        return sum(1 for s, _ in self.acknowledged if s == service)

    def summary(self) -> dict[str, Any]:
        """Counts for reports."""
        return {"commands": sum(self.sent.values()), "by_service": dict(self.sent), "outcomes": dict(self.outcomes),
                "acknowledged_by_service": dict(Counter(s for s, _ in self.acknowledged)),
                "acknowledged_events": sum(len(r.get("event_ids") or []) for _, r in self.acknowledged),
                "department_messages_acknowledged": len(self.published),
                "department_messages_refused": self.publish_failed,
                "top_refusals": dict(self.refusals.most_common(8))}


class RecordingClient(RpcClient):
    """An RpcClient that tallies every command reply (the demo loaders use it like any client).

    With `retry_s`, an `unavailable` reply is retried until that much time has passed, as a
    patient caller would; a retried command that had gone through answers `conflict`.
    """

    def __init__(self, nc: NatsClient, tally: Tally, timeout: float = 5.0, retry_s: float = 0.0) -> None:
        super().__init__(nc, timeout)
        self.tally, self.retry_s = tally, retry_s

    async def request(self, subject: str, payload: Any, **kwargs: Any) -> dict[str, Any]:
        """Send and tally every attempt; a client-side failure (NATS away) counts as unavailable."""
        deadline = asyncio.get_running_loop().time() + self.retry_s
        while True:
            reply = await self._attempt(subject, payload, **kwargs)
            if reply.get("ok") or reply.get("error", {}).get("code") != "unavailable" \
                    or asyncio.get_running_loop().time() > deadline:
                return reply
            await asyncio.sleep(0.3)

    async def _attempt(self, subject: str, payload: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            reply = await super().request(subject, payload, **kwargs)
        except (nats.errors.Error, OSError) as exc:
            reply = {"ok": False, "error": {"code": "unavailable", "message": repr(exc)}}
        if subject.startswith("huimin.cmd."):
            service = subject.split(".")[2]
            self.tally.sent[service] += 1
            code = "ok" if reply.get("ok") else reply.get("error", {}).get("code", "?")
            self.tally.outcomes[code] += 1
            if reply.get("ok"):
                self.tally.acknowledged.append((service, reply))
            else:
                details = reply.get("error", {}).get("details")
                first = details[0] if isinstance(details, list) and details and isinstance(details[0], dict) else {}
                self.tally.refusals[f"{subject.rsplit('.', 1)[-1]}: {code} {first.get('code') or first.get('type') or ''}"] += 1
                if code == "internal":
                    self.tally.internal.append((subject, payload, reply))
        return reply


async def load_demo(client: RpcClient, attempts: int = 20) -> None:
    """Every service's demo data; a loader hit by a fault is simply run again (they are idempotent)."""
    for module in demo.modules():
        for attempt in range(attempts):
            try:
                await module.load(client)
                break
            except Exception:  # noqa: BLE001 (a fault interrupted it: unavailable, timeouts)
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.5)


# --- a projects scenario: a past year, departments, projects, plans, progress -------------------------------

DEPARTMENTS = [("load-a", "景洪市负载测试一局"), ("load-b", "景洪市负载测试二局"), ("load-c", "景洪市负载测试三局")]


def projects_setup(year: int) -> list[tuple[str, dict[str, Any]]]:
    """Commands that open the scenario's year and register its departments (idempotent: conflicts are fine)."""
    out = [("open_year", {"year": year, "session_start": f"{year}-01-10", "session_end": f"{year}-01-15"})]
    out += [("register_department", {"code": code, "full_name": name, "short_name": name[3:7]})
            for code, name in DEPARTMENTS]
    return out


def project_commands(year: int, code: str, lead: str, rng: random.Random,
                     reports: int) -> list[tuple[str, dict[str, Any]]]:
    """Register a project, submit its plan and report progress `reports` times (in order)."""
    key = {"year": year, "code": code}
    out = [("register_voted_project", {
        **key, "title": f"负载测试项目 {code}", "category": "城乡建设", "lead_unit": lead,
        "votes_for": rng.randint(150, 250), "votes_against": rng.randint(0, 20), "votes_abstain": rng.randint(0, 20),
        "voted_on": f"{year}-01-12"}),
        ("submit_plan", {**key, "submitted_on": f"{year}-02-01", "target_completion": f"{year}-12-15", "milestones": [
            {"name": "开工", "due": f"{year}-04-30", "weight": 40}, {"name": "完工", "due": f"{year}-11-30", "weight": 60}]})]
    for i in range(reports):
        out.append(("report_progress", {**key, "reported_by": lead, "percent": min(100, 5 * (i + 1)),
                                        "as_of": (date(year, 3, 1) + timedelta(days=7 * i)).isoformat(),
                                        "narrative": f"第 {i + 1} 次通报"}))
    return out


def progress_message(year: int, code: str, lead: str, i: int) -> tuple[str, bytes]:
    """A department's progress message on HUIMIN_INGEST: (subject, body)."""
    body = {"message_id": f"load-{code}-{i}", "year": year, "code": code,
            "as_of": (date(year, 9, 1) + timedelta(days=i)).isoformat(), "percent": 60 + i}
    return ingest_subject(lead, "progress"), encode(body)


class Load:
    """A bounded mixed load: project scenarios as commands, department progress messages, random commands.

    `fuzz` random commands (valid by their fields) go to every service; the scenario's year is one
    they never name, so a random `close_year` cannot close it.
    """

    def __init__(self, client: RecordingClient, seed: int = 7, fuzz: int = 0) -> None:
        self.client, self.tally = client, client.tally
        self.rng = random.Random(seed)
        self.leads: dict[str, str] = {}
        self.fuzz_bodies = examples(command_bodies(command_models()), fuzz, seed) if fuzz else []
        named = {b.get("year") for _, b in self.fuzz_bodies if isinstance(b, dict)}
        self.year = next(y for y in range(2025, 2000, -1) if y not in named)

    async def send(self, service: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """One command; returns its reply."""
        return await self.client.request(command_subject(service, name), body, timeout=5)

    async def setup(self) -> None:
        """The scenario's year and departments (retried until they exist)."""
        for name, body in projects_setup(self.year):
            for _ in range(50):
                reply = await self.send("projects", name, body)
                if reply.get("ok") or reply["error"]["code"] == "conflict":
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError(f"scenario setup {name} failed: {reply}")

    async def projects(self, count: int, reports: int = 3, prefix: str = "L", concurrency: int = 6) -> list[str]:
        """`count` projects, each registered, planned and reported on, several at a time; their codes."""
        codes = [f"{prefix}{self.rng.randrange(16**6):06X}" for _ in range(count)]
        gate = asyncio.Semaphore(concurrency)

        async def one(code: str) -> None:
            lead = self.leads.setdefault(code, self.rng.choice(DEPARTMENTS)[0])
            async with gate:
                for name, body in project_commands(self.year, code, lead, self.rng, reports):
                    await self.send("projects", name, body)

        await asyncio.gather(*(one(c) for c in codes))
        return codes

    async def fuzz(self, concurrency: int = 4) -> None:
        """The random commands, several at a time (the domain refuses most and accepts some)."""
        gate = asyncio.Semaphore(concurrency)

        async def one(subject: str, body: dict[str, Any]) -> None:
            async with gate:
                await self.client.request(subject, body, timeout=5)

        await asyncio.gather(*(one(s, b) for s, b in self.fuzz_bodies))

    async def department_messages(self, js: Any, per_project: int = 2, codes: list[str] | None = None) -> None:
        """Progress messages from the lead units of the projects (all so far, or `codes`), one resent each."""
        for code in list(self.leads) if codes is None else codes:
            lead = self.leads[code]
            for i in range(per_project):
                subject, body = progress_message(self.year, code, lead, i)
                for _ in range(1 + (i == 0)):  # the first is sent twice: a department resending
                    try:
                        ack = await js.publish(subject, body, timeout=2)
                        self.tally.published.append(("progress", ack.seq))
                    except (nats.errors.Error, OSError, TimeoutError):
                        self.tally.publish_failed += 1


# --- checks -------------------------------------------------------------------------------------------------


async def missing_acknowledged(database_url: str, tally: Tally) -> list[str]:
    """Event ids of acknowledged commands that are not in their service's event store."""
    wanted: dict[str, set[str]] = {}
    for service, reply in tally.acknowledged:
        if reply.get("event_ids"):
            wanted.setdefault(service, set()).update(reply["event_ids"])
    conn = await asyncpg.connect(database_url)
    try:
        missing = []
        for service, ids in wanted.items():
            rows = await conn.fetch(f"SELECT event_id::text FROM {service}.events WHERE event_id::text = ANY($1)",
                                    list(ids))
            missing += sorted(ids - {r[0] for r in rows})
        return missing
    finally:
        await conn.close()


async def unanswered_department_messages(database_url: str, tally: Tally, services: list[str]) -> list[int]:
    """Stream sequences of acknowledged department messages no service logged a result for."""
    conn = await asyncpg.connect(database_url)
    try:
        logged: set[int] = set()
        for service in services:
            if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{service}.ingest_log"):
                logged |= {r[0] for r in await conn.fetch(f"SELECT stream_seq FROM {service}.ingest_log")}
        return sorted(seq for _, seq in tally.published if seq not in logged)
    finally:
        await conn.close()


async def assert_consistent(settings: Settings, tally: Tally, services: ServiceProcesses | None = None,
                            settle_s: float = 20.0) -> Report:
    """Nothing acknowledged lost, no internal error, and `huimin verify` finds no difference."""
    assert settings.database_url
    report = await verify(settings, settle_s=settle_s)
    logs = "\n".join(f"--- {n}\n{services.log_tail(n, 1500)}" for n in services.procs) if services else ""
    assert report.ok, f"{format_report(report)}\n{logs}"
    assert not tally.internal, f"internal errors: {tally.internal[:3]}"
    assert not await missing_acknowledged(settings.database_url, tally), "acknowledged events are missing"
    names = list(service_runtimes(settings, {}))
    assert not await unanswered_department_messages(settings.database_url, tally, names)
    return report


def command_models() -> dict[str, type[Command]]:
    """Every command subject of every service that builds, with its request model."""
    out: dict[str, type[Command]] = {}
    for rt in service_runtimes(Settings(nats_url="nats://127.0.0.1:4222"), {}).values():
        out |= {s: m for s, m in rt.rpc.models.items() if s.startswith("huimin.cmd.") and issubclass(m, Command)}
    return out



async def start_in_process(settings: Settings, names: list[str] | None = None) -> dict[str, ServiceRuntime]:
    """Every service that builds (or the named ones), started inside this process; stop with stop_in_process."""
    runtimes = service_runtimes(settings)
    started = {}
    try:
        for name, rt in runtimes.items():
            if names is None or name in names:
                await rt.start()
                started[name] = rt
    except BaseException:
        await stop_in_process(started)
        raise
    return started


async def stop_in_process(runtimes: dict[str, ServiceRuntime]) -> None:
    """Stop services started by start_in_process, last started first."""
    for rt in reversed(list(runtimes.values())):
        await rt.stop()


@contextlib.asynccontextmanager
async def fresh_system(server_urls: tuple[str, str], **overrides: Any) -> AsyncIterator[tuple[Settings, dict[str, ServiceRuntime]]]:
    """A new database, empty streams and every service started in-process (for module-scoped fixtures)."""
    nats_url, admin_url = server_urls
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    nc = await nats.connect(nats_url)
    for stream in (EVENTS_STREAM, INGEST_STREAM):
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await nc.jetstream().delete_stream(stream)
    await nc.close()
    settings = Settings(nats_url=nats_url, database_url=urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}")),
                        log_level="warning", relay_poll_interval_s=0.2, projection_fetch_timeout_s=0.2,
                        projection_nak_delay_s=0.2, projection_gap_delay_s=0.3, **overrides)
    runtimes = await start_in_process(settings)
    try:
        yield settings, runtimes
    finally:
        await stop_in_process(runtimes)
        admin = await asyncpg.connect(admin_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
