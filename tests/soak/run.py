"""`make soak DURATION=60`: a bounded mixed load with random faults, then `huimin verify`; prints a summary.

Starts its own NATS and PostgreSQL (loopback, temporary directory) and every service as a child
process; for DURATION seconds it sends project scenarios, commands to every service, department
messages and the demo data, while it kills services (kill -9), restarts NATS and restarts
PostgreSQL at random. Then it lets the system settle, checks that nothing acknowledged was lost
and runs verify. Exit status 0 only if every check passed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from shared.config import Settings
from shared.logging import configure_logging
from shared.runtime.embedded import EmbeddedNats, EmbeddedPostgres
from shared.runtime.processes import free_port
from shared.verify import format_report, service_runtimes, verify
from tests.faultkit import (
    Load, RecordingClient, ServiceProcesses, Tally, connect, load_demo, missing_acknowledged,
    unanswered_department_messages,
)


class Soak:
    """One soak run: servers, services, load, faults, checks."""

    def __init__(self, duration: float, seed: int, work: Path) -> None:
        self.duration, self.rng, self.work = duration, random.Random(seed), work
        self.seed = seed
        self.nats = EmbeddedNats(work / "nats", port=free_port())
        self.pg = EmbeddedPostgres(work / "pg", port=free_port())
        self.faults: Counter[str] = Counter()
        self.tally = Tally()
        self.fault_log: list[str] = []

    async def run(self) -> dict[str, Any]:
        """The whole soak; returns its summary."""
        started = time.monotonic()
        self.nats.start()
        self.pg.start()
        settings = Settings(nats_url=self.nats.url, database_url=self.pg.url)
        names = list(service_runtimes(settings))
        procs = ServiceProcesses(self.nats.url, self.pg.url, self.work / "logs")
        procs.start(*names)
        nc = await connect(self.nats.url)
        try:
            client = RecordingClient(nc, self.tally, timeout=3, retry_s=5)
            await procs.wait_ready(client, timeout=60)
            load = Load(client, seed=self.seed, fuzz=max(50, int(self.duration * 4)))
            await load.setup()
            deadline = time.monotonic() + self.duration
            await asyncio.gather(self._load(load, nc, deadline), self._faults(procs, names, deadline))
            await procs.wait_ready(client, timeout=60)
            await load.projects(3, prefix="END")  # the system serves again, unattended
            report = await verify(settings, settle_s=120)
            missing = await missing_acknowledged(self.pg.url, self.tally)
            unanswered = await unanswered_department_messages(self.pg.url, self.tally, names)
        finally:
            await nc.close()
            procs.stop_all()
            self.pg.stop()
            self.nats.stop()
        problems = len(report.differences) + len(missing) + len(unanswered) + len(self.tally.internal)
        return {
            "ok": problems == 0, "seconds": round(time.monotonic() - started, 1), "load_seconds": self.duration,
            "seed": self.seed, "services": names, "load": self.tally.summary(),
            "faults": dict(self.faults), "fault_log": self.fault_log,
            "differences": len(report.differences), "acknowledged_but_missing": missing,
            "department_messages_without_result": unanswered,
            "internal_errors": [r for _, _, r in self.tally.internal][:5],
            "verify": format_report(report).splitlines()[-1], "verify_report": report.as_dict(),
        }

    async def _load(self, load: Load, nc: Any, deadline: float) -> None:
        demo = asyncio.create_task(self._demo(load.client))
        fuzz = asyncio.create_task(load.fuzz(concurrency=2))
        round_no = 0
        while time.monotonic() < deadline:
            round_no += 1
            codes = await load.projects(4, reports=3, prefix=f"S{round_no}-", concurrency=4)
            await load.department_messages(nc.jetstream(), per_project=1, codes=codes)
        fuzz.cancel()
        await asyncio.gather(fuzz, return_exceptions=True)
        await demo

    async def _demo(self, client: RecordingClient) -> None:
        try:
            await load_demo(client, attempts=5)
        except Exception as exc:  # noqa: BLE001 (a demo cut short by faults is not a finding; lost data is)
            self.fault_log.append(f"demo data load stopped early: {exc!r}")

    async def _faults(self, procs: ServiceProcesses, names: list[str], deadline: float) -> None:
        while True:
            await asyncio.sleep(self.rng.uniform(3, 8))
            if time.monotonic() > deadline - 3:
                return
            kind = self.rng.choices(["kill", "nats", "postgres"], weights=[6, 2, 2])[0]
            at = f"{time.monotonic() - (deadline - self.duration):5.1f}s"
            if kind == "kill":
                victim = self.rng.choice(names)
                procs.kill(victim)
                await asyncio.sleep(self.rng.uniform(0, 2))
                procs.start(victim)
                self.faults[f"kill -9 {victim}"] += 1
                self.fault_log.append(f"{at} kill -9 {victim}")
            else:
                server = self.nats if kind == "nats" else self.pg
                await asyncio.to_thread(server.stop)
                await asyncio.sleep(self.rng.uniform(0.5, 2.5))
                await asyncio.to_thread(server.start)
                self.faults[f"restart {kind}"] += 1
                self.fault_log.append(f"{at} restart {kind}")


def main(argv: list[str] | None = None) -> int:
    """Run a soak and print its summary; exit 1 if anything was lost or differs."""
    p = argparse.ArgumentParser(prog="soak", description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=60, help="seconds of load and faults (then settle and verify)")
    p.add_argument("--seed", type=int, default=None, help="repeat a run's random choices")
    p.add_argument("--keep", action="store_true", help="keep the data and logs directory")
    args = p.parse_args(argv)
    configure_logging(Settings(log_level="error", log_format="console"), "soak")
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    work = Path(tempfile.mkdtemp(prefix="huimin-soak-"))
    print(f"soak: {args.duration:g}s of load and faults, seed {seed}, data and logs in {work}", flush=True)
    summary = asyncio.run(Soak(args.duration, seed, work).run())
    verify_report = summary.pop("verify_report")
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    if not summary["ok"]:
        print(json.dumps(verify_report, ensure_ascii=False, indent=2, default=str))
    if summary["ok"] and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"data and logs kept in {work}")
    print("SOAK PASSED" if summary["ok"] else "SOAK FAILED")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
