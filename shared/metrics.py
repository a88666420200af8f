"""Prometheus metrics of a service process, and its small operations HTTP endpoint.

Every process is one service, so metrics carry no `service` label: the scrape target names it.
The endpoint (`HUIMIN_METRICS_PORT`, off when unset) serves `/metrics`, `/healthz` (the process
is up) and `/readyz` (it reaches NATS and PostgreSQL); container healthchecks ask `/readyz`
(`python -m shared.ops.healthcheck`), so each instance answers for itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from shared.logging import get_logger

log = get_logger(__name__)

REQUESTS = Counter(
    "huimin_requests_total", "Commands, queries and health requests answered, by outcome (ok or error code).",
    ["kind", "subject", "outcome"],
)
REQUEST_SECONDS = Histogram(
    "huimin_request_duration_seconds", "Time to answer a command, query or health request.", ["kind", "subject"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS_APPENDED = Counter("huimin_events_appended_total", "Events appended to this service's event store.", ["type"])
EVENTS_RELAYED = Counter("huimin_events_relayed_total", "Events the outbox relay published to JetStream (PubAck received).")
RELAY_LAG = Gauge("huimin_relay_lag_events", "Committed events the outbox relay has not published yet.")
CONSUMER_LAG = Gauge("huimin_consumer_lag_events",
                     "Messages a durable consumer has not processed yet (projection lag for durable=projection).",
                     ["durable"])
CONSUMER_LAST_APPLIED = Gauge("huimin_consumer_last_applied_timestamp_seconds",
                              "Recorded time (Unix seconds) of the latest event a durable consumer applied.", ["durable"])
EVENTS_CONSUMED = Counter("huimin_events_consumed_total", "Event deliveries handled by a durable consumer, by outcome.",
                          ["durable", "outcome"])
INGEST_MESSAGES = Counter("huimin_ingest_messages_total",
                          "Department messages answered, by kind and status (accepted, duplicate, rejected).",
                          ["kind", "status"])


def request_kind(subject: str) -> str:
    """`command`, `query` or `health` from a request subject (DESIGN.md §4)."""
    return {"cmd": "command", "qry": "query", "sys": "health"}.get(subject.split(".")[1] if "." in subject else "",
                                                                   "other")


def observe_request(subject: str, reply: dict[str, Any], seconds: float) -> None:
    """Count one answered request and its duration."""
    kind = request_kind(subject)
    outcome = "ok" if reply.get("ok", True) else str((reply.get("error") or {}).get("code", "error"))
    REQUESTS.labels(kind, subject, outcome).inc()
    REQUEST_SECONDS.labels(kind, subject).observe(seconds)


Readiness = Callable[[], Awaitable[dict[str, Any]]]


class OpsServer:
    """`/metrics`, `/healthz` and `/readyz` over plain HTTP/1.0 on asyncio (no web framework needed)."""

    def __init__(self, port: int, readiness: Readiness, host: str = "0.0.0.0") -> None:
        self.port, self.host, self.readiness = port, host, readiness
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen on the port."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        log.info("ops endpoint listening", port=self.port)

    async def stop(self) -> None:
        """Stop listening."""
        if self._server:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            path = request.decode("latin-1").split(" ")[1] if request.count(b" ") >= 2 else "/"
            status, ctype, body = await self._answer(path.split("?")[0])
            head = f"HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
            writer.write(head.encode() + body)
            await writer.drain()
        except Exception as exc:  # noqa: BLE001 (a scrape must never hurt the service)
            log.debug("ops request failed", error=repr(exc))
        finally:
            writer.close()

    async def _answer(self, path: str) -> tuple[str, str, bytes]:
        if path == "/metrics":
            return "200 OK", CONTENT_TYPE_LATEST, generate_latest()
        if path == "/healthz":
            return "200 OK", "application/json", b'{"ok": true}'
        if path == "/readyz":
            try:
                state = await asyncio.wait_for(self.readiness(), 3)
            except Exception as exc:  # noqa: BLE001
                state = {"ready": False, "error": repr(exc)}
            body = json.dumps(state, default=str).encode()
            return ("200 OK" if state.get("ready") else "503 Service Unavailable"), "application/json", body
        return "404 Not Found", "text/plain", b"not found"
