"""As-of replays: the history is read in chunks, and one replay runs at a time (a second is told busy)."""

from __future__ import annotations

import asyncio
from datetime import date

import asyncpg
import asyncpg.cursor
import pytest

from services.projection import asof
from services.projection.runner import LIVE_SCHEMA
from services.projection.supervision_query import get_supervision
from services.projection.views import READ_MODELS
from shared.contracts.base import registry
from shared.contracts.projection import GetSupervision
from shared.errors import Unavailable
from tests.integration.test_view_supervision import year_history
from tests.integration.views import apply, views  # noqa: F401 (fixture)

PAST = GetSupervision(project_id="project-2026-01", as_of=date(2026, 6, 10))


@pytest.fixture
async def built(views):
    await apply(views, year_history())
    return views


async def supervision(runner, query=PAST):
    async with runner.pool.acquire() as conn:
        return await get_supervision(conn, query)


async def test_replay_in_small_chunks_answers_the_same(built, monkeypatch):
    whole = await supervision(built)
    sizes: list[int] = []
    apply_chunk = asof._apply

    async def counted(conn, applier, batch):
        sizes.append(len(batch))
        await apply_chunk(conn, applier, batch)

    fetched: list[int] = []
    cursor_fetch = asyncpg.cursor.Cursor.fetch

    async def fetch(self, n, *, timeout=None):
        rows = await cursor_fetch(self, n, timeout=timeout)
        fetched.append(len(rows))
        return rows

    monkeypatch.setattr(asof, "_BATCH", 2)
    monkeypatch.setattr(asof, "_apply", counted)
    monkeypatch.setattr(asyncpg.cursor.Cursor, "fetch", fetch)
    assert await supervision(built) == whole
    assert whole["percent"] == 30 and [o["obstacle_id"] for o in whole["obstacles_open"]] == ["o1"]
    # The history came from a server-side cursor two rows at a time, each chunk applied before the next.
    assert len(sizes) > 3 and max(sizes) == 2 and fetched[:-1] == sizes and fetched[-1] == 0


async def _held_replay(runner, started: asyncio.Event, release: asyncio.Event) -> str:
    """A replay that keeps its turn until `release` is set."""

    async def answer(conn):
        started.set()
        await release.wait()
        return "first"

    async with runner.pool.acquire() as conn:
        return await asof.as_of(conn, LIVE_SCHEMA, asof.models_named(READ_MODELS, "supervision"), registry,
                                date(2026, 6, 10), answer)


async def test_a_second_replay_is_told_busy_when_the_first_does_not_end(built, monkeypatch):
    monkeypatch.setattr(asof, "REPLAY_WAIT_S", 0.3)
    started, release = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(_held_replay(built, started, release))
    await asyncio.wait_for(started.wait(), 10)
    with pytest.raises(Unavailable) as refused:
        await supervision(built)
    assert refused.value.message.startswith("系统正忙") and " / busy" in refused.value.message
    release.set()
    assert await first == "first"
    # The turn was given back: the next replay runs.
    assert (await supervision(built))["percent"] == 30


async def test_a_second_replay_waits_for_a_first_that_ends_in_time(built):
    started, release = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(_held_replay(built, started, release))
    await asyncio.wait_for(started.wait(), 10)
    second = asyncio.create_task(supervision(built))
    await asyncio.sleep(0.1)
    assert not second.done()  # waiting its turn
    release.set()
    assert await first == "first"
    assert (await second)["percent"] == 30


async def test_todays_answers_never_wait_for_a_replay(built, monkeypatch):
    monkeypatch.setattr(asof, "REPLAY_WAIT_S", 0.1)
    started, release = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(_held_replay(built, started, release))
    await asyncio.wait_for(started.wait(), 10)
    try:
        today_view = await supervision(built, GetSupervision(project_id="project-2026-01"))
        assert today_view["status"] == "red"
    finally:
        release.set()
        await first
