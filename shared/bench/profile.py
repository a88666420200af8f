"""Profiles of a measured path: py-spy samples a running process (a service, or the bench itself).

The collapsed stacks are written next to the report (flamegraph.pl or speedscope read them) and
summarised as the functions where the samples are (self) and the frames they pass (total).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

# Frames every sample passes through (event loop, module start): left out of the "total" list.
_GENERIC = re.compile(
    r"\((asyncio/|<frozen|selectors\.py|threading\.py|concurrent/)|^(<module>|main|run|Handle\._run) ")
_FRAME = re.compile(r"^(?P<fn>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def py_spy() -> str | None:
    """The py-spy executable, if installed (the `bench` extra)."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


class Profile:
    """py-spy recording one process until stopped."""

    def __init__(self, pid: int, out: Path, rate_hz: int = 100) -> None:
        self.out = out
        exe = py_spy()
        if exe is None:
            raise RuntimeError("py-spy is not installed: pip install -e '.[bench]'")
        out.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [exe, "record", "--pid", str(pid), "--format", "raw", "--output", str(out), "--rate", str(rate_hz),
             "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(self) -> dict[str, Any]:
        """Stop sampling; the summary of what was sampled."""
        self.proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        if not self.out.exists():
            return {"error": (err or b"").decode(errors="replace")[-500:]}
        return summarise(self.out)


def _short(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("file")
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{m.group('fn')} ({path})"


def summarise(path: Path, top: int = 15) -> dict[str, Any]:
    """Samples, and the top functions by self and by total samples, from a collapsed-stack file."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = [_short(f) for f in stack.split(";") if f and not f.startswith("process ")
                  and not f.startswith("thread ")]
        if not frames:
            continue
        own[frames[-1]] += n
        for f in set(frames):
            if not _GENERIC.search(f):
                total[f] += n

    def pct(c: Counter[str]) -> list[dict[str, Any]]:
        return [{"frame": f, "percent": round(100 * n / samples, 1)} for f, n in c.most_common(top)] if samples else []

    return {"file": str(path), "samples": samples, "self": pct(own), "total": pct(total)}
