"""`huimin up` (what `make up` runs): everything starts, answers, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc (children, grandchildren, ...)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_up_runs_everything_and_ctrl_c_stops_it_all(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "DATABASE_URL")}
    env["HUIMIN_DATA_DIR"] = str(tmp_path / "data")
    proc = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, cwd=Path(__file__).resolve().parents[2],
    )
    lines = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C stops everything" in line:
                break
        output = "".join(lines)
        assert "Huimin is running" in output, output
        assert "demo data" in output, output
        started = descendants(proc.pid)
        assert len(started) >= 4, "nats-server, postgres and the services run as children"
        assert (tmp_path / "data" / "postgres" / "pgdata" / "PG_VERSION").exists(), "data is kept in the data dir"
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        rest, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "stopped." in rest
    assert proc.returncode == 0
    time.sleep(0.5)
    assert not [p for p in started if alive(p)], "no orphan processes"
