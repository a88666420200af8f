"""Building views from a given list of events, for view tests: given events -> expected rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from services.projection.runner import LIVE_SCHEMA, ProjectionRunner
from services.projection.views import READ_MODELS
from shared.consumer import Delivery, Outcome
from shared.contracts.base import Event, EventEnvelope, registry
from shared.db import create_pool
from shared.streams import ensure_streams
from shared.subjects import event_subject

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


class Stream:
    """Envelopes of one stream with consecutive versions."""

    def __init__(self, stream_id: str, service: str = "test") -> None:
        self.stream_id, self.service, self.version = stream_id, service, 0

    def envelope(self, event: Event, occurred_at: datetime = T0, actor: str = "office:test") -> EventEnvelope:
        """The next event of the stream as stored and published."""
        self.version += 1
        return EventEnvelope(
            event_id=uuid.uuid4(), type=event.type, schema_version=event.schema_version, stream_id=self.stream_id,
            version=self.version, occurred_at=occurred_at, recorded_at=occurred_at, actor=actor,
            correlation_id="c-test", body=event.model_dump(mode="json"),
        )


def deliveries(envelopes: list[EventEnvelope]) -> list[Delivery]:
    """Envelopes as a consumer receives them."""
    return [Delivery(e.model_dump_json().encode(), event_subject("test", e.stream_id, e.type), i + 1)
            for i, e in enumerate(envelopes)]


@pytest.fixture
async def views(settings, nc) -> AsyncIterator[ProjectionRunner]:
    """A projection runner over every view, with freshly created live tables."""
    pool = await create_pool(settings, settings.database_url, LIVE_SCHEMA, "tests")
    js = nc.jetstream()
    await ensure_streams(js, settings)
    runner = ProjectionRunner(pool, js, settings, READ_MODELS, registry, settings.database_url)
    await runner._create_schema(LIVE_SCHEMA)
    yield runner
    await pool.close()


async def apply(runner: ProjectionRunner, envelopes: list[EventEnvelope], batch: int = 50) -> list[Outcome]:
    """Apply envelopes to the live tables in batches."""
    items, outcomes = deliveries(envelopes), []
    for i in range(0, len(items), batch):
        outcomes += await runner._apply(LIVE_SCHEMA, items[i:i + batch])
    return outcomes
