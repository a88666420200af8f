"""Commands over NATS RPC (1 and 32 concurrent clients), and the outbox relay's publish lag under them.

The command is `RegisterVotedProject` on the projects service: every one loads its (new)
stream, decides, appends one event in its own transaction and is answered; the relay of the
service publishes the event. Publish lag = the event's arrival on JetStream (seen by a
subscriber) minus its `recorded_at` (when the service received the command).
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import date, datetime
from typing import Any

from nats.aio.client import Client as NatsClient

from shared.bench.dataset import COMMANDS_YEAR, Shape
from shared.bench.progress import Reporter
from shared.bench.stats import latency_ms, rate, summarise
from shared.contracts.projects import RegisterVotedProject
from shared.rpc import RpcClient
from shared.subjects import command_subject, events_wildcard

SUBJECT = command_subject("projects", RegisterVotedProject.name)


def command(shape: Shape, tag: str, i: int) -> dict[str, Any]:
    """A valid registration of a new project, led by a department of the data set."""
    return RegisterVotedProject(
        year=COMMANDS_YEAR, code=f"{tag}-{i:05d}", title="城区公共充电设施建设（压测）", category="城市管理",
        lead_unit=shape.lead_unit(i % shape.projects), votes_for=250, votes_against=5, votes_abstain=3,
        voted_on=date(COMMANDS_YEAR, 1, 14),
    ).model_dump(mode="json")


async def available(nc: NatsClient) -> str | None:
    """None when the projects service answers the command subject, else why not."""
    reply = await RpcClient(nc, timeout=5).request(SUBJECT, {})
    if reply.get("ok") is False and reply["error"]["code"] == "unavailable":
        return f"{SUBJECT}: {reply['error']['message']}"
    return None


async def _one_run(nc: NatsClient, shape: Shape, clients: int, n: int, tag: str, reporter: Reporter) -> dict[str, Any]:
    client = RpcClient(nc, timeout=30)
    latencies: list[float] = []
    errors: list[dict[str, Any]] = []
    arrivals: list[float] = []

    async def on_event(msg: Any) -> None:
        if msg.subject.endswith(".ProjectVoted"):
            recorded = datetime.fromisoformat(json.loads(msg.data)["recorded_at"]).timestamp()
            arrivals.append(time.time() - recorded)

    sub = await nc.subscribe(events_wildcard("projects"), cb=on_event)
    payloads = [command(shape, tag, i) for i in range(n)]  # built before the clock starts
    bar = reporter.bar(n, f"commands x{clients}", "cmd")

    async def worker(k: int) -> None:
        for i in range(k, n, clients):
            t = time.perf_counter()
            reply = await client.request(SUBJECT, payloads[i], actor="office:bench")
            if reply.get("ok"):  # a refused command is an error, not a fast command
                latencies.append(time.perf_counter() - t)
            else:
                errors.append(reply.get("error", {}))
            bar.update(1)

    started = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(clients)))
    elapsed = time.perf_counter() - started
    bar.close()
    deadline = time.perf_counter() + 10
    while len(arrivals) < n - len(errors) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    await sub.unsubscribe()
    lag = latency_ms(arrivals)
    return {"clients": clients, "commands": n, "errors": len(errors), "first_error": errors[0] if errors else None,
            "seconds": round(elapsed, 3), "commands_per_s": rate(n - len(errors), elapsed),
            **latency_ms(latencies), "publish_lag_p50_ms": lag["p50_ms"], "publish_lag_p99_ms": lag["p99_ms"],
            "events_seen": lag["samples"]}


async def measure(nc: NatsClient, shape: Shape, *, n: int, runs: int, reporter: Reporter) -> dict[str, Any]:
    """Commands/s and latency with 1 and with 32 clients, each the median of `runs` runs."""
    out: dict[str, Any] = {"command": SUBJECT, "commands_per_run": n}
    for clients in (1, 32):
        results = [await _one_run(nc, shape, clients, n, f"b{clients}r{run}", reporter) for run in range(runs)]
        out[f"clients_{clients}"] = summarise(results, ["commands_per_s", "p50_ms", "p99_ms", "publish_lag_p50_ms",
                                                        "publish_lag_p99_ms"])
        s = out[f"clients_{clients}"]
        reporter.line(f"  commands, {clients} client(s): {s['commands_per_s']}/s, p50 {s['p50_ms']} ms, "
                      f"p99 {s['p99_ms']} ms; publish lag p50 {s['publish_lag_p50_ms']} ms")
    return out
