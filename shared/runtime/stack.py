"""`huimin up`: the whole system on one machine — embedded servers, every service, demo data."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nats

import services

from shared.config import Settings
from shared.rpc import RpcClient
from shared.runtime.embedded import EmbeddedNats, EmbeddedPostgres
from shared.runtime.processes import spawn, stop
from shared.subjects import health_subject

_START_ORDER = ["projects", "delegates", "activities", "feedback", "projection", "gateway"]


def discover_services() -> list[str]:
    """Every package under services/ that runs as `python -m services.<name>`, in start order."""
    root = Path(services.__file__).parent
    names = [p.parent.name for p in root.glob("*/__main__.py")]
    return sorted(names, key=lambda n: (_START_ORDER.index(n) if n in _START_ORDER else len(_START_ORDER), n))


SERVICES = discover_services()
PREFERRED_NATS_PORT = 4222
PREFERRED_PG_PORT = 5433


def _port_or_free(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            return 0  # taken: let the server pick a free one


@dataclass
class Stack:
    """The servers and service processes started by `huimin up`."""

    settings: Settings
    data_dir: Path
    servers: list[EmbeddedNats | EmbeddedPostgres] = field(default_factory=list)
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def start_servers(self) -> tuple[str, str]:
        """Use NATS_URL / DATABASE_URL when set, else start embedded servers keeping data in data_dir."""
        nats_url, db_url = self.settings.nats_url, self.settings.database_url
        if not nats_url:
            n = EmbeddedNats(self.data_dir / "nats", port=_port_or_free(PREFERRED_NATS_PORT)).start()
            self.servers.append(n)
            nats_url = n.url
        if not db_url:
            p = EmbeddedPostgres(self.data_dir / "postgres", port=_port_or_free(PREFERRED_PG_PORT)).start()
            self.servers.append(p)
            db_url = p.url
        self.env = {**os.environ, "NATS_URL": nats_url, "DATABASE_URL": db_url}
        return nats_url, db_url

    def start_service(self, name: str) -> None:
        """Start one service as a child process logging to data_dir/logs."""
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        env = {**self.env, "HUIMIN_LOG_FORMAT": "json"}
        self.children[name] = spawn([sys.executable, "-m", f"services.{name}"], env=env, log_path=logs / f"{name}.log")

    def restart_dead(self) -> list[str]:
        """Restart services that exited on their own; return their names."""
        dead = [name for name, proc in self.children.items() if proc.poll() is not None]
        for name in dead:
            self.start_service(name)
        return dead

    def stop(self) -> None:
        """Stop services first, then the servers they use."""
        for proc in self.children.values():
            stop(proc, signal.SIGTERM)
        for server in reversed(self.servers):
            server.stop()


async def wait_ready(nats_url: str, services: list[str], timeout: float = 60.0) -> None:
    """Wait until every service reports itself ready over NATS."""
    nc = await nats.connect(nats_url)
    client = RpcClient(nc, timeout=1)
    waiting = ""
    try:
        async with asyncio.timeout(timeout):
            for waiting in services:
                while not (await client.request(health_subject(waiting), {})).get("ready"):
                    await asyncio.sleep(0.2)
    except TimeoutError:
        raise NotReady(waiting, timeout) from None
    finally:
        await nc.close()


class NotReady(Exception):
    """A service did not report itself ready in time."""

    def __init__(self, service: str, timeout: float) -> None:
        super().__init__(f"service {service} did not become ready within {timeout:g} s")
        self.service = service
