"""The bench's own servers (embedded NATS and PostgreSQL) and the services it runs as processes."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nats

from shared.rpc import RpcClient
from shared.runtime.embedded import EmbeddedNats, EmbeddedPostgres
from shared.runtime.processes import free_port, spawn, stop
from shared.runtime.stack import discover_services
from shared.subjects import health_subject


# Settings that differ from a service's defaults, per service, with a comment why (the report lists
# them). None today: the rebuild handler has its own long timeout (services/projection/handlers.py),
# and queries must stay cut at rpc_timeout_s - 0.5 s as in production.
SERVICE_ENV: dict[str, dict[str, str]] = {}


def peak_memory_kib(pid: int) -> int | None:
    """The peak resident set size (VmHWM) of a live process, in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class BenchStack:
    """Servers in a work directory of their own, and the service processes started on them."""

    fast_unsafe: bool = False
    workdir: Path | None = None
    nats: EmbeddedNats | None = None
    pg: EmbeddedPostgres | None = None
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    gateway_port: int | None = None
    _own_dir: bool = False

    def start_servers(self) -> tuple[str, str]:
        """Start NATS (JetStream) and PostgreSQL on free loopback ports; return their URLs."""
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="huimin-bench-"))
            self._own_dir = True
        self.workdir.mkdir(parents=True, exist_ok=True)
        # A work directory used before still holds that run's servers: every run starts from empty
        # servers (the data set's event ids and the commands' project codes would collide otherwise).
        for leftover in ("nats", "postgres"):
            shutil.rmtree(self.workdir / leftover, ignore_errors=True)
        self.nats = EmbeddedNats(self.workdir / "nats", port=free_port()).start()
        self.pg = EmbeddedPostgres(self.workdir / "postgres", port=free_port(), fast_unsafe=self.fast_unsafe).start()
        return self.nats.url, self.pg.url

    @property
    def urls(self) -> tuple[str, str]:
        """(NATS URL, PostgreSQL URL) of the running servers."""
        assert self.nats and self.pg, "start_servers() first"
        return self.nats.url, self.pg.url

    def env(self, service: str = "") -> dict[str, str]:
        """The environment of a service process: the bench's servers, warnings only, JSON logs."""
        nats_url, db_url = self.urls
        if self.gateway_port is None:
            self.gateway_port = free_port()
        return {**os.environ, "NATS_URL": nats_url, "DATABASE_URL": db_url, "HUIMIN_LOG_LEVEL": "warning",
                "HUIMIN_LOG_FORMAT": "json", "HUIMIN_GATEWAY_HOST": "127.0.0.1",
                "HUIMIN_GATEWAY_PORT": str(self.gateway_port), **SERVICE_ENV.get(service, {})}

    def start_services(self, names: list[str] | None = None) -> list[str]:
        """Start services as `python -m services.<name>` (all discovered ones by default)."""
        assert self.workdir is not None
        logs = self.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        names = names if names is not None else discover_services()
        for name in names:
            self.children[name] = spawn([sys.executable, "-m", f"services.{name}"], env=self.env(name),
                                        log_path=logs / f"{name}.log")
        return names

    def log_tail(self, name: str, chars: int = 1500) -> str:
        """The end of a service's log, for a report of why it did not start."""
        assert self.workdir is not None
        path = self.workdir / "logs" / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    async def wait_ready(self, names: list[str], timeout: float = 90.0) -> dict[str, str | None]:
        """Wait until each service reports ready; None for ready, else why not."""
        nc = await nats.connect(self.urls[0])
        client = RpcClient(nc, timeout=1)
        outcome: dict[str, str | None] = {}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            for name in names:
                proc = self.children.get(name)
                while True:
                    if proc is not None and proc.poll() is not None:
                        outcome[name] = f"exited with code {proc.returncode}: {self.log_tail(name, 600)}"
                        break
                    if name == "gateway":  # answers HTTP, not NATS health
                        if await _http_ok(self.gateway_port or 0):
                            outcome[name] = None
                            break
                    elif (await client.request(health_subject(name), {})).get("ready"):
                        outcome[name] = None
                        break
                    if loop.time() > deadline:
                        outcome[name] = "not ready in time"
                        break
                    await asyncio.sleep(0.2)
        finally:
            await nc.close()
        return outcome

    def peak_memory(self) -> dict[str, int | None]:
        """VmHWM of every running service process, in KiB."""
        return {name: peak_memory_kib(p.pid) for name, p in self.children.items() if p.poll() is None}

    def server_memory(self) -> dict[str, int | None]:
        """VmHWM of nats-server and of the PostgreSQL postmaster (its backends are separate processes)."""
        out: dict[str, int | None] = {}
        if self.nats and self.nats.proc:
            out["nats-server"] = peak_memory_kib(self.nats.proc.pid)
        if self.pg and self.pg.proc:
            out["postgres (postmaster)"] = peak_memory_kib(self.pg.proc.pid)
        return out

    def pid(self, name: str) -> int | None:
        """The pid of a running service process."""
        proc = self.children.get(name)
        return proc.pid if proc is not None and proc.poll() is None else None

    def stop(self, keep: bool = False) -> None:
        """Stop the services, then the servers; remove the work directory unless asked to keep it."""
        for proc in self.children.values():
            stop(proc)
        self.children.clear()
        for server in (self.pg, self.nats):
            if server is not None:
                server.stop()
        if self._own_dir and not keep and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


async def _http_ok(port: int) -> bool:
    """Whether something answers HTTP GET /healthz on a loopback port."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1)
    except (OSError, TimeoutError):
        return False
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 2)
        return b" 200 " in status
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
