"""`huimin up` (what `make up` runs): everything starts, answers, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from services.gateway.i18n import LABELS
from services.gateway.web.render import HIDDEN
from tests.unit.record_view_keys import KEYS_FILE, record


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
        live_view_keys_are_labelled_and_recorded(re.search(r"NATS\s+(nats://\S+)", output).group(1))
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        rest, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "stopped." in rest
    assert proc.returncode == 0
    time.sleep(0.5)
    assert not [p for p in started if alive(p)], "no orphan processes"


def live_view_keys_are_labelled_and_recorded(nats_url: str) -> None:
    """Every key the views answer over the demo year has a dashboard label, and the recorded keys that the
    fast unit test (tests/unit/test_gateway_labels.py) checks are not stale."""
    deadline = time.monotonic() + 60
    while True:  # the projection may still be catching up with the demo data
        try:
            live = asyncio.run(record(nats_url))
            break
        except SystemExit:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    unlabelled = {route: sorted(k for k in keys if k not in HIDDEN and k not in LABELS) for route, keys in live.items()}
    assert not {r: k for r, k in unlabelled.items() if k}, "add to services/gateway/i18n.py LABELS"
    recorded = json.loads(KEYS_FILE.read_text())
    stale = {route: sorted(set(keys) - set(recorded.get(route, []))) for route, keys in live.items()}
    assert not {r: k for r, k in stale.items() if k}, "run python -m tests.unit.record_view_keys"
