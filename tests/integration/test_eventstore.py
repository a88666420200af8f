"""Event-store contract: expected-version appends, conflicts, loading, and the gap-free cursor."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from shared.contracts.base import Event, registry
from shared.eventstore.migrations import EVENTSTORE_MIGRATIONS, apply_migrations
from shared.eventstore.store import Checkpoint, EventStore, NewEvent, VersionConflict

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


@registry.register
class Noted(Event):
    """A test event."""

    type = "TestNoted"
    text: str


def new(*texts: str) -> list[NewEvent]:
    return [NewEvent(Noted(text=t), NOW) for t in texts]


async def append(store: EventStore, stream: str, expected: int, *texts: str, **kw):
    return await store.append(stream, expected, new(*texts), actor="tester", correlation_id="c1", recorded_at=NOW, **kw)


async def test_append_and_load_in_version_order(store):
    await append(store, "s-1", 0, "a", "b")
    await append(store, "s-1", 2, "c")
    await append(store, "s-2", 0, "other")
    loaded = await store.load("s-1")
    assert [(e.version, e.body["text"]) for e in loaded] == [(1, "a"), (2, "b"), (3, "c")]
    assert loaded[0].actor == "tester" and loaded[0].correlation_id == "c1"
    events, version = await store.load_events("s-1")
    assert version == 3 and events[2] == Noted(text="c")


async def test_stale_or_future_expected_version_is_a_conflict(store):
    await append(store, "s-1", 0, "a", "b")
    with pytest.raises(VersionConflict):
        await append(store, "s-1", 1, "stale")
    with pytest.raises(VersionConflict):
        await append(store, "s-1", 5, "future")
    assert len(await store.load("s-1")) == 2


async def test_two_concurrent_appends_at_one_version_exactly_one_wins(store):
    await append(store, "s-1", 0, "a")
    results = await asyncio.gather(
        *(append(store, "s-1", 1, f"writer-{i}") for i in range(2)), return_exceptions=True
    )
    wins = [r for r in results if not isinstance(r, Exception)]
    losses = [r for r in results if isinstance(r, Exception)]
    assert len(wins) == 1 and len(losses) == 1
    assert isinstance(losses[0], VersionConflict)
    assert [e.version for e in await store.load("s-1")] == [1, 2]


async def test_many_concurrent_writers_never_overwrite(store):
    """Ten writers race on one stream many times: every append either lands or conflicts."""
    landed = 0

    async def writer(i: int) -> None:
        nonlocal landed
        for _ in range(5):
            _, version = await store.load_events("race")
            try:
                await append(store, "race", version, f"w{i}")
                landed += 1
            except VersionConflict:
                pass

    await asyncio.gather(*(writer(i) for i in range(10)))
    loaded = await store.load("race")
    assert [e.version for e in loaded] == list(range(1, landed + 1))


async def test_cursor_never_skips_an_event_committed_late(store, pool):
    """Hold one transaction open, commit a later one first: the reader still sees both, once."""
    await append(store, "early", 0, "before")
    seen: list[str] = []
    checkpoint = Checkpoint()

    async def read() -> None:
        nonlocal checkpoint
        for stored in await store.read_after(checkpoint, 100):
            seen.append(stored.envelope.body["text"])
            checkpoint = stored.checkpoint

    async with pool.acquire() as slow:
        tx = slow.transaction()
        await tx.start()
        await append(store, "slow", 0, "slow-one", conn=slow)  # lower position, commits last
        await append(store, "fast", 0, "fast-one")  # higher position, commits first
        await read()
        assert "fast-one" not in seen, "the reader must wait for the older open transaction"
        await tx.commit()
    await read()
    await read()
    assert sorted(seen) == ["before", "fast-one", "slow-one"]
    assert len(seen) == 3


async def test_cursor_positions_persist(store):
    await append(store, "s-1", 0, "a", "b")
    batch = await store.read_after(Checkpoint(), 10)
    await store.save_cursor("reader", batch[0].checkpoint)
    assert await store.load_cursor("reader") == batch[0].checkpoint
    rest = await store.read_after(await store.load_cursor("reader"), 10)
    assert [s.envelope.body["text"] for s in rest] == ["b"]


async def test_invalid_stream_id_is_refused(store):
    from shared.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        await append(store, "has.dot", 0, "x")


async def test_migrations_apply_once(pool):
    async with pool.acquire() as conn:
        assert await apply_migrations(conn, EVENTSTORE_MIGRATIONS) == []
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(EVENTSTORE_MIGRATIONS)


async def test_a_stream_loaded_again_decodes_only_its_new_events(store):
    await append(store, "s-1", 0, "a", "b")
    first, _ = await store.load_events("s-1")
    await append(store, "s-1", 2, "c")
    again, version = await store.load_events("s-1")
    assert version == 3 and [e.text for e in again] == ["a", "b", "c"]
    assert again[0] is first[0] and again[1] is first[1], "the known prefix comes from the cache, not decoded again"
    again.append(Noted(text="mutated by a caller"))
    assert [e.text for e in (await store.load_events("s-1"))[0]] == ["a", "b", "c"]


async def test_events_cached_by_a_rolled_back_transaction_are_not_trusted(store, pool):
    await append(store, "s-1", 0, "a")
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await store.append("s-1", 1, new("never committed"), actor="t", correlation_id="c", recorded_at=NOW, conn=conn)
        inside, version = await store.load_events("s-1", conn)
        assert version == 2 and inside[-1].text == "never committed"
        await tx.rollback()
    assert [e.text for e in (await store.load_events("s-1"))[0]] == ["a"]
    await append(store, "s-1", 1, "b", "c")  # another event now holds version 2
    events, version = await store.load_events("s-1")
    assert version == 3 and [e.text for e in events] == ["a", "b", "c"]
    fresh = EventStore(pool, store.registry)
    assert (await fresh.load_streams(["s-1", "s-2"])) == {"s-1": (events, 3), "s-2": ([], 0)}
