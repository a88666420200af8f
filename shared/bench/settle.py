"""Waiting for the system to be idle: every durable consumer caught up, every service's lags at zero."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from nats.js import JetStreamContext

from shared.bench.progress import Reporter
from shared.rpc import RpcClient
from shared.subjects import EVENTS_STREAM, INGEST_STREAM, health_subject


async def pending(js: JetStreamContext) -> dict[str, int]:
    """Messages not yet acknowledged, per durable consumer of the Huimin streams."""
    out: dict[str, int] = {}
    for stream in (EVENTS_STREAM, INGEST_STREAM):
        try:
            infos = await js.consumers_info(stream)
        except Exception:  # noqa: BLE001 (a stream not created yet has no consumers)
            continue
        for info in infos:
            if info.config.durable_name:
                out[f"{stream}/{info.config.durable_name}"] = (info.num_pending or 0) + (info.num_ack_pending or 0)
    return out


async def service_lags(client: RpcClient, services: list[str]) -> dict[str, Any]:
    """Every health figure named like a lag, per service (None: not reported yet)."""
    out: dict[str, Any] = {}
    for name in services:
        reply = await client.request(health_subject(name), {}, timeout=2)
        for key, value in reply.items():
            if key.endswith("lag"):
                out[f"{name}.{key}"] = value
        if "runner_active" in reply and not reply["runner_active"]:
            out[f"{name}.runner_active"] = None
    return out


async def settle(js: JetStreamContext, client: RpcClient, services: list[str], reporter: Reporter,
                 timeout: float, quiet_for: float = 1.5) -> dict[str, Any]:
    """Wait until nothing is pending anywhere for `quiet_for` seconds; return how long it took."""
    started = time.perf_counter()
    quiet_since: float | None = None
    last: dict[str, Any] = {}
    with reporter.bar(None, "settling", "checks") as bar:
        while time.perf_counter() - started < timeout:
            last = {**await pending(js), **await service_lags(client, services)}
            busy = {k: v for k, v in last.items() if v != 0}
            bar.set_postfix_str(", ".join(f"{k}={v}" for k, v in list(busy.items())[:3]))
            bar.update(1)
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.perf_counter()
            elif time.perf_counter() - quiet_since >= quiet_for:
                return {"seconds": round(time.perf_counter() - started, 2), "settled": True}
            await asyncio.sleep(0.25)
    return {"seconds": round(time.perf_counter() - started, 2), "settled": False,
            "still_busy": {k: v for k, v in last.items() if v != 0}}
