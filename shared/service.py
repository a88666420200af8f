"""What every service process shares: connections, migrations, the outbox relay, health, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg
from faststream.nats import NatsBroker
from faststream.nats.security import NatsUserPassword
from nats.js import JetStreamContext

from shared.config import Settings
from shared.consumer import EventFollower
from shared.contracts.base import Query, registry
from shared.db import create_pool
from shared.eventstore.migrations import EVENTSTORE_MIGRATIONS, Migration, apply_migrations
from shared.eventstore.store import EventStore
from shared.ingest import INGEST_MIGRATIONS, IngestConsumer
from shared.logging import get_logger
from shared.metrics import OpsServer
from shared.outbox import OutboxRelay
from shared.readmodel import CONSUMER_MIGRATIONS, ReadModel
from shared.runtime.processes import freeze_startup_heap
from shared.rpc import RequestContext, RpcServer
from shared.streams import ensure_streams
from shared.subjects import events_wildcard, health_subject

log = get_logger(__name__)


class HealthRequest(Query):
    """Ask a service whether it can reach NATS and PostgreSQL."""

    name = "health"


def nats_servers(url: str) -> dict[str, Any]:
    """nats-py connect arguments of NATS_URL: every node (comma-separated) and the user's credentials.

    The credentials are passed on their own, not in the URLs: nodes a cluster announces (discovered
    servers) come without them, and a reconnect there would fail with an authorization violation.
    """
    servers = [urlsplit(u.strip()) for u in url.split(",") if u.strip()]
    bare = [s._replace(netloc=s.netloc.rsplit("@", 1)[-1]).geturl() for s in servers]
    first = servers[0]
    if first.username and first.password:
        return {"servers": bare, "user": unquote(first.username), "password": unquote(first.password)}
    return {"servers": bare}


def broker_logger(service: str) -> logging.Logger:
    """FastStream's logger for one service: warnings and errors only (its INFO lines are task chatter)."""
    logger = logging.getLogger(f"huimin.broker.{service}")
    logger.setLevel(logging.WARNING)
    return logger


def make_broker(settings: Settings, service: str) -> NatsBroker:
    """A FastStream NATS broker that never stops reconnecting (nats-py gives up after 60 by default)."""
    if not settings.nats_url:
        raise RuntimeError("NATS_URL is not set (`huimin up` and the tests start an embedded server)")
    connect = nats_servers(settings.nats_url)
    credentials = NatsUserPassword(connect["user"], connect["password"]) if "user" in connect else None
    return NatsBroker(
        connect["servers"],
        security=credentials,
        name=f"huimin-{service}",
        # Replies come to this service's own inbox subjects: NATS permissions can keep others out of them.
        inbox_prefix=f"_INBOX_{service}",
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        allow_reconnect=True,
        log_level=logging.DEBUG,  # per-message "Received/Processed" lines are debug noise
        # Through the root handlers (JSON lines in containers), not FastStream's own plain-text
        # handler: a logger outside the "faststream" tree, which keeps its records to itself.
        logger=broker_logger(service),
    )


async def pg_ready(pool: asyncpg.Pool) -> bool:
    """Whether PostgreSQL answers within a second."""
    try:
        async with asyncio.timeout(1):
            return await pool.fetchval("SELECT 1") == 1
    except Exception:  # noqa: BLE001 (readiness reports, it does not raise)
        return False


class ServiceRuntime:
    """Connections and background tasks of one service process; `run()` until SIGINT/SIGTERM."""

    def __init__(self, service: str, settings: Settings, *, schema: str | None = None,
                 migrations: list[Migration] | None = None, event_sourced: bool = True) -> None:
        self.service, self.settings = service, settings
        self.schema = schema or service
        self.event_sourced = event_sourced
        self.migrations = ([*EVENTSTORE_MIGRATIONS] if event_sourced else []) + (migrations or [])
        self.broker = make_broker(settings, service)
        self.rpc = RpcServer(service, settings)
        self.pool: asyncpg.Pool | None = None
        self.store: EventStore | None = None
        self.relay: OutboxRelay | None = None
        self.js: JetStreamContext | None = None
        self.follower: EventFollower | None = None
        self._ingest: IngestConsumer | None = None
        self.followed: tuple[list[ReadModel], list[str]] | None = None
        self.health_extras: dict[str, Callable[[], Awaitable[Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._background: list[Callable[[], Awaitable[None]]] = []
        self.ops = OpsServer(settings.metrics_port, self._readiness) if settings.metrics_port else None
        self.rpc.handle(health_subject(service), HealthRequest)(self._health)

    def follow_events(self, models: list[ReadModel], services: list[str]) -> None:
        """Keep this service's own copy of other services' events in tables of its own schema.

        The tables come from the service's migrations; each model's appliers fill them. Call
        before start(). One durable consumer `<service>-copy` per service, one active instance.
        """
        self.migrations += [m for m in CONSUMER_MIGRATIONS if m not in self.migrations]
        self.followed = (models, services)  # what the copy holds, for `huimin verify`

        async def follow_events() -> None:
            assert self.pool is not None and self.js is not None and self.settings.database_url
            self.follower = EventFollower(
                pool=self.pool, js=self.js, settings=self.settings, models=models, registry=registry,
                durable=f"{self.service}-copy", subjects=[events_wildcard(s) for s in services],
                schema=self.schema, dsn=self.settings.database_url, linger_s=self.settings.copy_linger_s,
            )
            await self.follower.run()

        async def follower_lag() -> int | None:
            return await self.follower.lag() if self.follower else None

        self.background(follow_events)
        self.health_extras["follower_lag"] = follower_lag

    def ingest(self) -> IngestConsumer:
        """The department-input consumer of this service; register its kinds before start()."""
        if self._ingest is None:
            self.migrations += INGEST_MIGRATIONS
            ingest = self._ingest = IngestConsumer(service=self.service, schema=self.schema, settings=self.settings)

            async def consume_department_input() -> None:
                assert self.pool is not None and self.js is not None
                ingest.bind(self.pool, self.js)
                await ingest.run()

            self.background(consume_department_input)
        return self._ingest

    def background(self, job: Callable[[], Awaitable[None]]) -> None:
        """Run a coroutine function for the life of the service (started after connecting)."""
        self._background.append(job)

    async def _health(self, _: HealthRequest, ctx: RequestContext) -> dict[str, Any]:
        checks = {"nats": self.broker.connection.is_connected, "postgres": await pg_ready(self.pool) if self.pool else False}
        extras = {name: await probe() for name, probe in self.health_extras.items()}
        return {"service": self.service, "ready": all(checks.values()), "checks": checks, **extras}

    async def _readiness(self) -> dict[str, Any]:
        return await self._health(HealthRequest(), None)  # type: ignore[arg-type]

    async def _relay_active(self) -> bool:
        return bool(self.relay and self.relay.active)

    async def start(self) -> None:
        """Connect to PostgreSQL and NATS, migrate, declare streams, start handlers and the relay."""
        if not self.settings.database_url:
            raise RuntimeError("DATABASE_URL is not set (`huimin up` and the tests start an embedded server)")
        if self.ops:
            await self.ops.start()  # first: a container healthcheck then says "not ready", not "down"
        self.pool = await create_pool(self.settings, self.settings.database_url, self.schema, self.service)
        applied = []
        if self.migrations:
            async with self.pool.acquire() as conn:
                applied = await apply_migrations(conn, self.migrations)
        if applied:
            log.info("migrations applied", names=[f"{m.component}/{m.path.name}" for m in applied])
        await self.broker.connect()
        self.js = self.broker.connection.jetstream()
        await ensure_streams(self.js, self.settings)
        if self.event_sourced:
            self.store = EventStore(self.pool, registry)
            self.relay = OutboxRelay(service=self.service, schema=self.schema, dsn=self.settings.database_url,
                                     store=self.store, js=self.js, settings=self.settings)
            self.health_extras["relay_active"] = self._relay_active
            self._tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.service}-relay"))
        for job in self._background:
            self._tasks.append(asyncio.create_task(job(), name=f"{self.service}-{job.__name__}"))
        await self.broker.start()
        await self.rpc.start(self.broker.connection)
        # The server has our subscriptions once a round trip returns: "started" means reachable.
        await self.broker.connection.flush()
        log.info("service started", subjects=len(self.rpc.subjects))

    async def stop(self) -> None:
        """Stop handlers and background tasks, then close connections."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # Bounded: a task that ignores its cancellation must not hang the shutdown.
            _, stuck = await asyncio.wait(self._tasks, timeout=5)
            for task in stuck:
                log.warning("background task did not stop in time", task=task.get_name())
        self._tasks.clear()
        # Every step is bounded: a service must stop even when NATS or PostgreSQL is already gone.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.rpc.stop(), 5)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.broker.stop(), 5)
        if self.ops:
            await self.ops.stop()
        if self.pool:
            try:
                await asyncio.wait_for(self.pool.close(), 5)
            except Exception:  # noqa: BLE001
                self.pool.terminate()
            self.pool = None
        log.info("service stopped")

    async def run(self) -> None:
        """Start, serve until SIGINT or SIGTERM, stop."""
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        await self.start()
        freeze_startup_heap()
        try:
            await stopping.wait()
        finally:
            await self.stop()
