"""The gateway's runtime: NATS and PostgreSQL connections, the catalog, and sending on a user's behalf."""

from __future__ import annotations

import time
import uuid
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from services.gateway.attachments import AttachmentStore
from services.gateway.catalog import Catalog, Route, build_catalog
from services.gateway.config import GatewaySettings
from services.gateway.permissions import NOT_EXPOSED, authorize, check_matrix, check_reply, visible
from services.gateway.users import GATEWAY_MIGRATIONS, SCHEMA, User, UserStore, make_hasher
from shared.config import Settings
from shared.errors import Unavailable, error_from_reply
from shared.logging import get_logger
from shared.rpc import RpcClient
from shared.service import ServiceRuntime, pg_ready
from shared.subjects import health_subject

log = get_logger(__name__)
SERVICE = "gateway"


class Metrics:
    """Prometheus metrics of one gateway (own registry, so several apps can live in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http = Counter("huimin_gateway_http_requests_total", "HTTP requests", ["method", "route", "status"],
                            registry=self.registry)
        self.latency = Histogram("huimin_gateway_http_request_seconds", "HTTP request latency", ["method", "route"],
                                 registry=self.registry)
        self.nats = Counter("huimin_gateway_nats_requests_total", "Commands and queries sent over NATS",
                            ["kind", "route", "outcome"], registry=self.registry)
        self.logins = Counter("huimin_gateway_logins_total", "Login attempts", ["outcome"], registry=self.registry)


class Gateway:
    """Everything a request handler needs; started and stopped by the app's lifespan."""

    def __init__(self, settings: Settings, gw: GatewaySettings, catalog: Catalog | None = None) -> None:
        self.settings, self.gw = settings, gw
        self.catalog = catalog or build_catalog(hidden=NOT_EXPOSED)
        problems = check_matrix(self.catalog)
        if problems:
            raise ValueError("permission matrix does not fit the contracts: " + "; ".join(problems))
        self.runtime = ServiceRuntime(SERVICE, settings, schema=SCHEMA, migrations=GATEWAY_MIGRATIONS,
                                      event_sourced=False)
        self.runtime.health_extras["routes"] = self._route_count
        self.metrics = Metrics()
        self._users: UserStore | None = None
        self._rpc: RpcClient | None = None
        self._attachments: AttachmentStore | None = None

    async def _route_count(self) -> int:
        return len(self.catalog.routes)

    async def start(self) -> None:
        """Connect, migrate the gateway schema, answer health on NATS."""
        await self.runtime.start()
        assert self.runtime.pool is not None
        self._users = UserStore(self.runtime.pool, self.gw.session_ttl_s,
                                 make_hasher(self.gw.argon2_time_cost, self.gw.argon2_memory_kib))
        self._rpc = RpcClient(self.runtime.broker.connection, timeout=self.settings.rpc_timeout_s)
        log.info("gateway started", routes=len(self.catalog.routes), url=self.gw.url)

    async def stop(self) -> None:
        """Close connections."""
        await self.runtime.stop()

    @property
    def users(self) -> UserStore:
        """The users, sessions and tokens."""
        if self._users is None:
            raise Unavailable("网关尚未就绪 / gateway is starting")
        return self._users

    @property
    def rpc(self) -> RpcClient:
        """The NATS request client."""
        if self._rpc is None:
            raise Unavailable("网关尚未就绪 / gateway is starting")
        return self._rpc

    @property
    def nc(self) -> Any:
        """The NATS connection (object store, health)."""
        return self.runtime.broker.connection

    @property
    def attachments(self) -> AttachmentStore:
        """The attachment bucket (created on first use)."""
        if self._attachments is None:
            self._attachments = AttachmentStore(self.nc.jetstream(), self.gw.attachments_bucket)
        return self._attachments

    async def send(self, user: User, route: Route, payload: dict[str, Any], correlation_id: str | None = None
                   ) -> dict[str, Any]:
        """Authorize and send a command or query as the user; the reply without `ok`, as they may see it."""
        payload = authorize(user, route, payload)
        if route.kind == "command" and "attachments" in payload:
            # Events keep only references: a file that was never uploaded would be a dead link forever.
            await self.attachments.check_references(payload["attachments"])
        started = time.perf_counter()
        reply = await self.rpc.request(route.subject, payload, actor=user.actor,
                                       correlation_id=correlation_id or str(uuid.uuid4()))
        outcome = "ok" if reply.get("ok") else (reply.get("error") or {}).get("code", "internal")
        self.metrics.nats.labels(route.kind, f"{route.group}.{route.name}", outcome).inc()
        log.debug("sent", subject=route.subject, outcome=outcome, ms=round((time.perf_counter() - started) * 1000))
        if not reply.get("ok"):
            raise error_from_reply(reply)
        check_reply(user, route, reply)
        return visible(user, {k: v for k, v in reply.items() if k != "ok"}, self.catalog)

    async def readiness(self) -> dict[str, Any]:
        """NATS, PostgreSQL and the projection's lag, and whether all are fine."""
        nats_ok = bool(self._rpc and self.nc and self.nc.is_connected)
        pg_ok = await pg_ready(self.runtime.pool) if self.runtime.pool else False
        projection: dict[str, Any] = {"reachable": False, "lag": None}
        if nats_ok:
            reply = await self.rpc.request(health_subject("projection"), {}, timeout=2)
            if reply.get("ok"):
                projection = {"reachable": True, "lag": reply.get("lag"), "ready": reply.get("ready")}
        lag = projection.get("lag")
        projection_ok = projection["reachable"] and bool(projection.get("ready")) and (
            lag is None or lag <= self.gw.max_projection_lag)
        checks = {"nats": nats_ok, "postgres": pg_ok, "projection": projection_ok}
        return {"ready": all(checks.values()), "checks": checks, "projection": projection}
