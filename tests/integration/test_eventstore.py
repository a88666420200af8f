"""Event-store contract: expected-version appends, conflicts, loading, and the gap-free cursor."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from shared.contracts.base import Command, Event, registry
from shared.decider import Decider, DecisionContext
from shared.eventstore.migrations import EVENTSTORE_MIGRATIONS, apply_migrations
from shared.eventstore.store import Checkpoint, EventStore, NewEvent, VersionConflict
from shared.handling import execute
from shared.rpc import RequestContext

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


class Counting:
    """A decider over Noted events whose evolve counts its calls (state: the texts so far)."""

    def __init__(self) -> None:
        self.calls = 0
        self.decider = Decider(initial=(), decide=self.decide, evolve=self.evolve)

    def evolve(self, state: tuple[str, ...], event: Event) -> tuple[str, ...]:
        self.calls += 1
        return (*state, event.text) if isinstance(event, Noted) else state

    @staticmethod
    def decide(command: Command, state: tuple[str, ...], ctx: DecisionContext) -> list[Event]:
        return [Noted(text=f"{command.text}#{len(state)}")]


class Note(Command):
    """A test command: note a text."""

    name = "note"
    text: str


def context() -> RequestContext:
    return RequestContext(actor="tester", correlation_id="c1", received_at=NOW)


async def test_a_command_folds_only_the_events_new_since_the_last_one(store, pool):
    counting = Counting()
    await append(store, "s-1", 0, "a", "b")
    await execute(store, counting.decider, "s-1", Note(text="x"), context())
    assert counting.calls == 2
    await execute(store, counting.decider, "s-1", Note(text="y"), context())
    assert counting.calls == 3, "the state after a, b and x#2 was kept; only x#2 was folded"
    await append(store, "s-1", 4, "c")  # appended by someone else: read and folded on top
    appended = await execute(store, counting.decider, "s-1", Note(text="z"), context())
    assert counting.calls == 5 and appended[0].body == {"text": "z#5"}
    events, version = await store.load_events("s-1")
    assert store.fold("s-1", counting.decider, events, version) == ("a", "b", "x#2", "y#3", "c", "z#5")
    fresh = EventStore(pool, store.registry)
    assert await fresh.load_events("s-1") == (events, version), "what the cache holds is what is stored"


async def test_a_state_is_not_taken_for_another_decider_or_another_history(store):
    counting, other = Counting(), Counting()
    await append(store, "s-1", 0, "a", "b")
    await execute(store, counting.decider, "s-1", Note(text="x"), context())
    events, version = await store.load_events("s-1")
    assert other.decider.fold(events) == store.fold("s-1", other.decider, events, version) == ("a", "b", "x#2")
    assert other.calls == 6, "another evolve folds the whole stream"
    look_alike = [Noted(text=e.text) for e in events]  # equal, but not the events the cache holds
    assert store.fold("s-1", counting.decider, look_alike, version) == ("a", "b", "x#2")
    assert counting.calls == 2 + 3


async def test_events_appended_in_a_rolled_back_transaction_are_not_trusted(store, pool):
    counting = Counting()
    await append(store, "s-1", 0, "a")
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await execute(store, counting.decider, "s-1", Note(text="never committed"), context(), conn=conn)
        await tx.rollback()
    await append(store, "s-1", 1, "b")  # another event now holds version 2
    await execute(store, counting.decider, "s-1", Note(text="x"), context())
    events, version = await store.load_events("s-1")
    assert version == 3 and [e.text for e in events] == ["a", "b", "x#2"]
    assert store.fold("s-1", counting.decider, events, version) == ("a", "b", "x#2")
