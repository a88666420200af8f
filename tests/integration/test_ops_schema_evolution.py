"""Schema evolution: an event stored at schema_version 1 by the old code is read as version 2 by the new
code through an upcaster, from the event store and through the relay and a consumer alike."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from shared.consumer import EventFollower
from shared.contracts.base import Event, EventRegistry
from shared.eventstore.migrations import apply_migrations
from shared.eventstore.store import EventStore, NewEvent
from shared.outbox import OutboxRelay
from shared.readmodel import CONSUMER_MIGRATIONS, ReadModel
from shared.streams import ensure_streams
from shared.subjects import events_wildcard
from tests.conftest import eventually
from tests.integration.conftest import SCHEMA

NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
TYPE = "OpsTestBudgeted"

# --- the old code: budgets in yuan ---
old_registry = EventRegistry()


@old_registry.register
class BudgetedV1(Event):
    type = TYPE
    schema_version = 1
    amount_yuan: int


# --- the new code: budgets in 万元 (10,000 yuan) with a currency; old events are upcast ---
new_registry = EventRegistry()


@new_registry.register
class BudgetedV2(Event):
    type = TYPE
    schema_version = 2
    amount_wan: float
    currency: str


@new_registry.upcaster(TYPE, from_version=1)
def budgeted_v1_to_v2(body: dict) -> dict:
    return {"amount_wan": body["amount_yuan"] / 10_000, "currency": "CNY"}


budgets = ReadModel(name="budgets", ddl="CREATE TABLE budgets (stream_id text, version int, amount_wan float8, "
                                        "currency text, PRIMARY KEY (stream_id, version));")


@budgets.on(BudgetedV2)
async def budgeted(conn, env, e: BudgetedV2) -> None:
    await conn.execute("INSERT INTO budgets VALUES ($1, $2, $3, $4)", env.stream_id, env.version, e.amount_wan,
                       e.currency)


async def relay_and_budgets_follower(pool, settings, nc, store: EventStore, durable: str,
                                     linger_s: float = 0.0) -> tuple[OutboxRelay, EventFollower]:
    """The test service's relay, and a follower of its events keeping `budgets` (tables created here)."""
    async with pool.acquire() as conn:
        await apply_migrations(conn, CONSUMER_MIGRATIONS)
        await conn.execute(budgets.ddl)
    js = nc.jetstream()
    await ensure_streams(js, settings)
    relay = OutboxRelay(service="testsvc", schema=SCHEMA, dsn=settings.database_url, store=store, js=js,
                        settings=settings)
    follower = EventFollower(pool=pool, js=js, settings=settings, models=[budgets], registry=new_registry,
                             durable=durable, subjects=[events_wildcard("testsvc")], schema=SCHEMA,
                             dsn=settings.database_url, linger_s=linger_s)
    return relay, follower


async def test_a_version_1_event_is_read_as_version_2(pool, settings, nc):
    old_store, new_store = EventStore(pool, old_registry), EventStore(pool, new_registry)
    meta = dict(actor="office:test", correlation_id="c-1", recorded_at=NOW)
    await old_store.append("project-2026-01", 0, [NewEvent(BudgetedV1(amount_yuan=1_250_000), NOW)], **meta)
    # After the upgrade the same stream goes on with version-2 events.
    events, version = await new_store.load_events("project-2026-01")
    await new_store.append("project-2026-01", version, [NewEvent(BudgetedV2(amount_wan=30.5, currency="CNY"), NOW)],
                           **meta)

    stored = await pool.fetch("SELECT schema_version, data FROM events ORDER BY version")
    assert [(r["schema_version"], r["data"]) for r in stored] == [
        (1, {"amount_yuan": 1_250_000}), (2, {"amount_wan": 30.5, "currency": "CNY"})]  # history is never rewritten
    events, _ = await new_store.load_events("project-2026-01")
    assert events == [BudgetedV2(amount_wan=125.0, currency="CNY"), BudgetedV2(amount_wan=30.5, currency="CNY")]

    # Through JetStream: the relay publishes the stored envelope as it is; the consumer upcasts it.
    relay, follower = await relay_and_budgets_follower(pool, settings, nc, new_store, "ops-evolution")
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(follower.run())]
    try:
        async def applied():
            return await pool.fetch("SELECT version, amount_wan, currency FROM budgets ORDER BY version")

        rows = await eventually(lambda: _when(applied, 2))
        assert [tuple(r) for r in rows] == [(1, 125.0, "CNY"), (2, 30.5, "CNY")]
        assert await pool.fetchval("SELECT count(*) FROM dead_letters") == 0
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_an_old_event_without_its_upcaster_fails_loudly(pool):
    store = EventStore(pool, old_registry)
    await store.append("project-2026-02", 0, [NewEvent(BudgetedV1(amount_yuan=10), NOW)],
                       actor="t", correlation_id="c", recorded_at=NOW)
    no_upcaster = EventRegistry()
    no_upcaster.register(BudgetedV2)
    try:
        await EventStore(pool, no_upcaster).load_events("project-2026-02")
    except LookupError as exc:
        assert "v1" in str(exc)
    else:
        raise AssertionError("decoding a version nobody can read must fail loudly")


async def _when(rows_of, count: int):  # type: ignore[no-untyped-def]
    rows = await rows_of()
    return rows if len(rows) >= count else None
