"""CPU time each process of the stack spends during a phase: where a command's or a report's cost goes.

Wall-clock figures on a shared 2-core machine mix every process's work; CPU seconds per process,
divided by the work done, say which process a path's cost is in (and stay meaningful under load).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psutil


def tree_cpu_seconds(pid: int, children: bool = True) -> float | None:
    """User + system CPU seconds of a process and (unless told not to) of its live and reaped children."""
    try:
        root = psutil.Process(pid)
        times = root.cpu_times()
        if not children:
            return times.user + times.system
        # PostgreSQL's backends are children of the postmaster; a backend that exits during the phase
        # moves from the live children's sum to the reaped one (children_user/_system), so nothing is lost.
        total = times.user + times.system + times.children_user + times.children_system
        for child in root.children(recursive=True):
            try:
                t = child.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                continue
        return total
    except psutil.NoSuchProcess:
        return None


@dataclass
class CpuMeter:
    """CPU seconds of named processes, with their children, between `start()` and `stop()`.

    The `load_generator` (the bench itself) is counted without its children, which are the services
    and servers counted under their own names, and is left out of the system's total.
    """

    pids: dict[str, int | None]
    load_generator: str | None = None
    _start: dict[str, float] = field(default_factory=dict)

    def _sample(self, name: str) -> float | None:
        pid = self.pids.get(name)
        return tree_cpu_seconds(pid, children=name != self.load_generator) if pid else None

    def start(self) -> None:
        """Take the starting sample of every process."""
        self._start = {name: t for name in self.pids if (t := self._sample(name)) is not None}

    def stop(self, units: int | None = None, unit: str = "unit") -> dict[str, object]:
        """CPU seconds per process since `start()`, and milliseconds per unit of work when `units` is given."""
        spent = {}
        for name, before in self._start.items():
            if (after := self._sample(name)) is not None:
                spent[name] = round(after - before, 3)
        system = sum(s for name, s in spent.items() if name != self.load_generator)
        out: dict[str, object] = {"seconds": spent, "system_seconds": round(system, 3)}
        if units:
            out["units"], out["unit"] = units, unit
            out["ms_per_unit"] = {name: round(1000 * s / units, 3) for name, s in spent.items()}
            out["system_ms_per_unit"] = round(1000 * system / units, 3)
        return out
