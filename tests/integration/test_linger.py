"""Micro-batching: events committed one by one while the relay or a consumer lingers go out together, in order."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from shared.eventstore.store import EventStore, NewEvent
from tests.conftest import eventually
from tests.integration.test_ops_schema_evolution import BudgetedV2, new_registry, relay_and_budgets_follower

NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
LINGER_S = 0.5  # far longer than four appends take, so the trickle surely lands inside it
META = dict(actor="office:test", correlation_id="c-1", recorded_at=NOW)


async def append_one(store: EventStore, stream: str, version: int) -> None:
    await store.append(stream, version, [NewEvent(BudgetedV2(amount_wan=version + 1.0, currency="CNY"), NOW)],
                       **META)


async def test_a_trickle_during_the_linger_is_relayed_and_applied_in_one_batch(pool, settings, nc):
    settings = settings.model_copy(update={"relay_linger_s": LINGER_S})
    store = EventStore(pool, new_registry)
    relay, follower = await relay_and_budgets_follower(pool, settings, nc, store, "linger", LINGER_S)

    read_sizes: list[int] = []
    trickle: list[asyncio.Task[None]] = []
    real_read_after = store.read_after

    async def read_after(*args, **kwargs):
        batch = await real_read_after(*args, **kwargs)
        if batch:
            read_sizes.append(len(batch))
            if len(read_sizes) == 1:  # the first event is out: four more commit, one by one, during the linger
                trickle.append(asyncio.create_task(_commit_one_by_one(store)))
        return batch

    applied_sizes: list[int] = []
    real_apply = follower.apply

    async def apply(schema, batch, **kwargs):
        applied_sizes.append(len(batch))
        return await real_apply(schema, batch, **kwargs)

    store.read_after = read_after  # type: ignore[method-assign]
    follower.apply = apply  # type: ignore[method-assign]
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(follower.run())]
    try:
        await append_one(store, "project-2026-01", 0)
        rows = await eventually(lambda: _rows(pool, 5))
        assert [r["version"] for r in rows] == [1, 2, 3, 4, 5]
        assert read_sizes == [1, 4], "the four commits during the relay's linger are read and published together"
        assert applied_sizes == [1, 4], "and the consumer, lingering too, applies them in one transaction"
    finally:
        for task in tasks + trickle:
            task.cancel()
        for task in tasks + trickle:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _commit_one_by_one(store: EventStore) -> None:
    for version in range(1, 5):
        await append_one(store, "project-2026-01", version)


async def _rows(pool, n: int):
    rows = await pool.fetch("SELECT version FROM budgets ORDER BY version")
    return rows if len(rows) >= n else None
