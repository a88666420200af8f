"""Helpers of the operations tests: nats-servers started from infra/ configurations, role-confined databases."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from shared.runtime.embedded import _nats_server_binary, _postgres_bin_dir
from shared.runtime.processes import free_port, spawn, stop, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
ROLES_INIT = INFRA / "postgres" / "init" / "10-huimin-roles.sh"


@dataclass
class NatsNode:
    """A nats-server started from one of infra/'s configuration files."""

    workdir: Path
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def log(self) -> Path:
        return self.workdir / "nats-server.log"

    @property
    def hostport(self) -> str:
        return f"127.0.0.1:{self.port}"

    def violations(self) -> list[str]:
        """Permission violations the server logged."""
        return [line for line in self.log.read_text(errors="replace").splitlines() if "Violation" in line]

    def kill(self) -> None:
        """SIGKILL: a crash, no clean shutdown."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        stop(self.proc)


def start_nats(conf: Path, workdir: Path, *, auth_conf: Path | None = None, args: Sequence[str] = (),
               port: int | None = None) -> NatsNode:
    """Start nats-server with a copy of `conf` whose JetStream store is in `workdir` (ports from flags)."""
    workdir.mkdir(parents=True, exist_ok=True)
    text = re.sub(r'store_dir:\s*"[^"]*"', f'store_dir: "{workdir / "js"}"', conf.read_text())
    (workdir / conf.name).write_text(text)
    if auth_conf is not None:
        shutil.copy(auth_conf, workdir / "auth.conf")
    port = port or free_port()
    cmd = [_nats_server_binary(), "-c", workdir / conf.name, "-a", "127.0.0.1", "-p", str(port),
           "-m", str(free_port()), *args]
    proc = spawn(cmd, log_path=workdir / "nats-server.log", cwd=workdir)
    wait_for_port(port, proc, 20, "nats-server", workdir / "nats-server.log")
    return NatsNode(workdir, port, proc)


def with_user(url: str, user: str, database: str | None = None) -> str:
    """The same PostgreSQL URL as another role (the test cluster trusts local connections)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    path = f"/{database}" if database else parts.path
    return urlunsplit(parts._replace(netloc=f"{user}@{host}", path=path))


def run_roles_init(admin_url: str, services: Sequence[str]) -> dict[str, str]:
    """Run infra/postgres's init script on the URL's database; return each service's role URL."""
    parts = urlsplit(admin_url)
    database = parts.path.lstrip("/")
    env = {
        **os.environ,
        "PATH": f"{_postgres_bin_dir()}:{os.environ.get('PATH', '')}",
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "POSTGRES_USER": parts.username or "postgres",
        "POSTGRES_DB": database,
        "HUIMIN_DB_SERVICES": " ".join(services),
        **{f"HUIMIN_DB_PASSWORD_{s.upper()}": uuid.uuid4().hex for s in services},
    }
    done = subprocess.run(["bash", ROLES_INIT], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return {s: with_user(admin_url, f"huimin_{s}") for s in services}


async def wait_cluster_ready(urls: list[str], replicas: int, timeout: float = 20.0) -> None:
    """Wait until JetStream has a meta leader and `replicas` peers in the cluster."""
    import nats

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            nc = await nats.connect(urls, connect_timeout=1, max_reconnect_attempts=1)
            try:
                info = await nc.request("$JS.API.INFO", b"", timeout=1)
                if b'"error"' not in info.data:
                    return
            finally:
                await nc.close()
        except Exception:  # noqa: BLE001 (not ready yet)
            pass
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("NATS cluster did not elect a JetStream leader in time")
        await asyncio.sleep(0.25)


async def database_roles_can_read(url: str, table: str) -> bool:
    """Whether the URL's role can read a table."""
    conn = await asyncpg.connect(url)
    try:
        await conn.fetchval(f"SELECT count(*) FROM {table}")
        return True
    except asyncpg.InsufficientPrivilegeError:
        return False
    finally:
        await conn.close()


# --- a small workload on the projects service (its contract: DESIGN.md §4, shared/contracts/projects.py) ---

YEAR = 2026
DEPT = "jhzjj"


def build_service(name: str, settings):  # type: ignore[no-untyped-def]
    """The ServiceRuntime of a service, built as its `python -m services.<name>` would build it."""
    import importlib

    built = importlib.import_module(f"services.{name}.main").build(settings)
    return built[0] if isinstance(built, tuple) else built


async def prepare_year(client, dept: str = DEPT) -> None:  # type: ignore[no-untyped-def]
    """Open the year and register the lead unit (what projects need first); repeats are fine."""
    from shared.errors import Conflict
    from shared.subjects import command_subject

    for name, payload in (
        ("open_year", {"year": YEAR, "session_start": "2026-01-17", "session_end": "2026-01-20"}),
        ("register_department", {"code": dept, "full_name": "景洪市住房和城乡建设局", "short_name": "市住建局"}),
    ):
        try:
            await client.call(command_subject("projects", name), payload, actor="office:ops-test")
        except Conflict:
            pass


def voted_project(code: str, dept: str = DEPT) -> dict:
    """A RegisterVotedProject payload."""
    return {"year": YEAR, "code": code, "title": f"惠民实事 {code}", "category": "城乡建设", "lead_unit": dept,
            "votes_for": 200, "votes_against": 3, "votes_abstain": 2, "voted_on": "2026-01-20"}


async def listed_codes(client) -> set[str]:  # type: ignore[no-untyped-def]
    """Codes of the year's projects as the projection lists them."""
    from shared.subjects import query_subject

    reply = await client.request(query_subject("projects", "list"), {"year": YEAR, "limit": 1000})
    return {item["code"] for item in reply.get("items", [])} if reply.get("ok") else set()
