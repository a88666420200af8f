"""Fixtures for integration tests: an event store on a fresh database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.config import Settings
from shared.contracts.base import registry
from shared.db import create_pool
from shared.eventstore.migrations import EVENTSTORE_MIGRATIONS, apply_migrations
from shared.eventstore.store import EventStore
from tests.integration.gateway_support import Running, running_gateway

SCHEMA = "testsvc"


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the test database whose schema has the event-store migrations."""
    assert settings.database_url
    p = await create_pool(settings, settings.database_url, SCHEMA, "tests")
    async with p.acquire() as conn:
        await apply_migrations(conn, EVENTSTORE_MIGRATIONS)
    yield p
    await p.close()


@pytest.fixture
def store(pool: asyncpg.Pool) -> EventStore:
    """The event store of the test schema."""
    return EventStore(pool, registry)


@pytest.fixture
async def gw(settings: Settings) -> AsyncIterator[Running]:
    """A gateway app (in process) with one user of each role."""
    async with running_gateway(settings) as running:
        yield running
