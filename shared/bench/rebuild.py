"""Projection rebuild: replay the whole event stream into fresh read models and swap them in."""

from __future__ import annotations

import time
from typing import Any

from nats.aio.client import Client as NatsClient

from shared.bench.progress import Reporter
from shared.bench.stats import rate, summarise
from shared.contracts.projection import RebuildReadModels
from shared.rpc import RpcClient
from shared.subjects import command_subject

SUBJECT = command_subject("projection", RebuildReadModels.name)


async def measure(nc: NatsClient, *, runs: int, budget_s: float, reporter: Reporter) -> dict[str, Any]:
    """Events/s of `huimin rebuild` over the whole stream; fewer runs when one run is long (budget)."""
    client = RpcClient(nc, timeout=3600)
    results: list[dict[str, Any]] = []
    spent = 0.0
    for _ in range(runs):
        started = time.perf_counter()
        reply = await client.request(SUBJECT, {}, actor="office:bench")
        elapsed = time.perf_counter() - started
        if not reply.get("ok"):
            if not results and reply.get("error", {}).get("code") == "unavailable":
                return {"available": False, "reason": reply["error"]["message"]}
            raise RuntimeError(f"rebuild failed: {reply.get('error')}")
        results.append({"events": reply["events"], "seconds": round(elapsed, 3),
                        "events_per_s": rate(reply["events"], elapsed)})
        spent += elapsed
        if spent + elapsed > budget_s:
            break
    out = {"available": True, **summarise(results, ["events_per_s"]), "events": results[-1]["events"]}
    reporter.line(f"  projection rebuild: {out['events_per_s']:,} events/s over {out['events']:,} events "
                  f"({len(results)} run(s))")
    return out
