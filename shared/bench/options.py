"""What a benchmark run is asked to do (from `huimin bench` options)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PHASES = ("baselines", "dataset", "relay", "rebuild", "commands", "peer", "ingest", "queries", "queries_http", "memory")


@dataclass(frozen=True)
class Options:
    """One run's settings; everything that changes the figures is recorded in the result file."""

    scale: float = 1.0  # 1.0 = province scale: 16 cities, 1,000 projects, 100,000 delegates, ~1M events
    runs: int = 3  # each figure is the median of this many runs (costly phases say how many they did)
    seed: int = 2026
    json_path: Path = Path("docs/perf-results.json")
    markdown_path: Path | None = Path("docs/PERFORMANCE.md")
    fast_unsafe: bool = False  # PostgreSQL without fsync: faster, not honest; the report says which
    ingest_seconds: float = 30.0  # how long the max ingest rate is sustained
    lag_seconds: float = 15.0  # how long the read-model lag is sampled at half that rate
    commands_per_run: int | None = None  # default: from the scale
    query_samples: int = 200
    profile: bool = False  # attach py-spy to the service doing the slowest measured path
    progress: str = "auto"  # auto | on | off
    only: frozenset[str] = field(default_factory=lambda: frozenset(PHASES))
    workdir: Path | None = None  # default: a temporary directory, removed afterwards
    command_line: str = "huimin bench"

    def wants(self, phase: str) -> bool:
        """Whether this run measures a phase."""
        return phase in self.only

    @property
    def commands(self) -> int:
        """Commands sent per run and concurrency level."""
        if self.commands_per_run:
            return self.commands_per_run
        return max(100, min(3000, round(3000 * self.scale)))

    @property
    def baseline_seconds(self) -> float:
        """How long each timed baseline (single-row commits) runs."""
        return max(0.5, min(3.0, 30 * self.scale))

    @property
    def baseline_rows(self) -> int:
        """Rows or messages per run of the raw baselines."""
        return max(2000, min(200_000, round(200_000 * self.scale)))
