"""Re-publish a service's events from its event store, for a JetStream that lost data.

PostgreSQL is the source of truth (REFERENCE.md, Jepsen 2025): whatever HUIMIN_EVENTS lost is
published again from the event table, in the relay's order, with Nats-Msg-Id = event_id.
Consumers are idempotent per stream version, so events JetStream still had change nothing.
Safe while the service runs: its relay goes on with new events; a consumer that sees a newer
version before an older one waits for the gap to fill.
"""

from __future__ import annotations

import asyncpg
import nats

from shared.config import Settings
from shared.contracts.base import registry
from shared.db import check_schema_name, create_pool
from shared.eventstore.store import Checkpoint, EventStore
from shared.logging import get_logger
from shared.outbox import publish_events
from shared.service import nats_servers
from shared.streams import ensure_streams

log = get_logger(__name__)


async def republish(settings: Settings, service: str, *, schema: str | None = None, batch_size: int = 500) -> int:
    """Publish every event of `service` again; return how many."""
    if not settings.database_url or not settings.nats_url:
        raise RuntimeError("DATABASE_URL and NATS_URL must point at the running system")
    schema = check_schema_name(schema or service)
    probe = await asyncpg.connect(settings.database_url)
    try:
        if not await probe.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{schema}.events"):
            raise RuntimeError(f"schema {schema!r} has no event store (events table)")
    finally:
        await probe.close()
    pool = await create_pool(settings, settings.database_url, schema, f"republish-{service}")
    nc = await nats.connect(**nats_servers(settings.nats_url), max_reconnect_attempts=-1)
    try:
        js = nc.jetstream()
        await ensure_streams(js, settings)
        store = EventStore(pool, registry)
        checkpoint, count = Checkpoint(), 0
        while batch := await store.read_after(checkpoint, batch_size):
            await publish_events(js, service, [s.envelope for s in batch], settings.relay_puback_timeout_s)
            checkpoint, count = batch[-1].checkpoint, count + len(batch)
        log.info("events re-published", service=service, count=count)
        return count
    finally:
        await nc.close()
        await pool.close()
