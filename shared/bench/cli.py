"""`huimin bench`: the options of a benchmark run (the harness itself is imported only when it runs)."""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
from pathlib import Path

from shared.bench.options import PHASES, Options


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the `bench` subcommand to the `huimin` parser."""
    b = sub.add_parser("bench", help="measure throughput and latency on embedded servers (docs/PERFORMANCE.md)",
                       description="Starts its own NATS and PostgreSQL, generates a province-scale data set "
                                   "deterministically, runs the services and measures them against raw baselines.")
    b.add_argument("--scale", type=float, default=1.0,
                   help="data set size: 1.0 = 16 cities, 1,000 projects, 100,000 delegates, ~1M events (default)")
    b.add_argument("--runs", type=int, default=3, help="runs per figure; each figure is their median (default 3)")
    b.add_argument("--seed", type=int, default=2026, help="seed of the data set (default 2026)")
    b.add_argument("--json", type=Path, default=Path("docs/perf-results.json"), help="result file")
    b.add_argument("--markdown", type=Path, default=Path("docs/PERFORMANCE.md"),
                   help="report whose generated part is replaced ('-' for none)")
    b.add_argument("--fast-unsafe", action="store_true", help="PostgreSQL without fsync (faster, not honest)")
    b.add_argument("--ingest-seconds", type=float, default=30.0, help="how long the max ingest rate is sustained")
    b.add_argument("--lag-seconds", type=float, default=15.0, help="how long the lag is sampled at half that rate")
    b.add_argument("--commands", type=int, default=None, help="commands per run (default: from the scale)")
    b.add_argument("--query-samples", type=int, default=200, help="requests per query and run")
    b.add_argument("--profile", action="store_true",
                   help="attach py-spy to the services during relay, rebuild, commands and ingest")
    b.add_argument("--progress", choices=("auto", "on", "off"), default="auto", help="progress bars")
    b.add_argument("--only", default=",".join(PHASES), help=f"comma-separated phases (default all: {','.join(PHASES)})")
    b.add_argument("--workdir", type=Path, default=None, help="keep servers' data and service logs here")
    b.set_defaults(fn=cmd_bench)


def options_of(args: argparse.Namespace) -> Options:
    """The run's options from parsed arguments."""
    only = frozenset(p.strip() for p in args.only.split(",") if p.strip())
    unknown = only - set(PHASES)
    if unknown:
        sys.exit(f"unknown phases: {', '.join(sorted(unknown))} (known: {', '.join(PHASES)})")
    return Options(
        scale=args.scale, runs=max(1, args.runs), seed=args.seed, json_path=args.json,
        markdown_path=None if str(args.markdown) == "-" else args.markdown, fast_unsafe=args.fast_unsafe,
        ingest_seconds=args.ingest_seconds, lag_seconds=args.lag_seconds, commands_per_run=args.commands,
        query_samples=args.query_samples, profile=args.profile, progress=args.progress, only=only,
        workdir=args.workdir, command_line="huimin " + shlex.join(sys.argv[1:]),
    )


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmark; exit 1 if a measurement failed (a missing path is not a failure)."""
    from shared.bench.runner import run  # imported here: `huimin up` does not need the harness

    result = asyncio.run(run(options_of(args)))
    return 1 if result["meta"]["phase_errors"] else 0
