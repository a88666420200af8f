"""Small statistics for measurements: medians of runs, latency percentiles, rates."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0..100) by the nearest-rank method; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_ms(seconds: Sequence[float]) -> dict[str, Any]:
    """p50/p99/max of latencies given in seconds, in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {"p50_ms": _round(percentile(ms, 50)), "p99_ms": _round(percentile(ms, 99)),
            "max_ms": _round(max(ms) if ms else None), "samples": len(ms)}


def median_of(runs: Sequence[dict[str, Any]], key: str) -> float | None:
    """The median of one figure over several runs (runs lacking it are left out)."""
    values = [r[key] for r in runs if r.get(key) is not None]
    return _round(statistics.median(values)) if values else None


def summarise(runs: list[dict[str, Any]], keys: Sequence[str]) -> dict[str, Any]:
    """The median of each figure, with every run kept for the record."""
    return {**{k: median_of(runs, k) for k in keys}, "runs": runs}


def rate(count: int, seconds: float) -> float | None:
    """Count per second, None when nothing was timed."""
    return _round(count / seconds) if seconds > 0 else None


def ratio(value: float | None, baseline: float | None) -> float | None:
    """value / baseline, None when either is missing."""
    if value is None or not baseline:
        return None
    return round(value / baseline, 4)


def _round(x: float | None) -> float | None:
    if x is None:
        return None
    return round(x, 3) if abs(x) < 100 else round(x, 1)
