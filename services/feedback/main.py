"""Wiring of the feedback service: runtime, copy of other services' events, handlers, department input, sweep."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from services.feedback import departments, handlers
from services.feedback.copy import copy_counts, copy_model
from services.feedback.domain import feedback_decider
from services.feedback.state import Policy
from services.feedback.sweeper import Clock, DeadlineSweeper, system_clock
from shared.config import Settings, get_settings
from shared.contracts.activities import OpinionRaised
from shared.contracts.base import EventEnvelope
from shared.contracts.feedback import SERVICE, RecordActivityOpinion, feedback_stream_id, opinion_feedback_id
from shared.eventstore.migrations import migrations_in
from shared.eventstore.store import EventStore
from shared.handling import execute
from shared.logging import configure_logging
from shared.rpc import RequestContext
from shared.service import ServiceRuntime

MIGRATIONS = migrations_in(SERVICE, Path(__file__).parent / "migrations")


def policy_of(settings: Settings) -> Policy:
    """The feedback rules' configured values."""
    return Policy(due_days=settings.feedback_due_days, reminder_days=settings.feedback_reminder_days,
                  max_rounds=settings.feedback_max_rounds)


def build(settings: Settings | None = None, clock: Clock = system_clock) -> ServiceRuntime:
    """The feedback service, ready to start; `clock` drives the deadline sweep (tests inject one)."""
    settings = settings or get_settings()
    rt = ServiceRuntime(SERVICE, settings, migrations=MIGRATIONS)
    decider = feedback_decider(policy_of(settings))

    def store() -> EventStore:
        assert rt.store is not None, "the service has not started"
        return rt.store

    async def record_opinion(conn, env: EventEnvelope, e: OpinionRaised) -> None:  # type: ignore[no-untyped-def]
        """An opinion raised at an activity becomes a feedback item, once (its id derives from the opinion)."""
        feedback_id = opinion_feedback_id(e.activity_id, e.opinion_id)
        fields = set(RecordActivityOpinion.model_fields) - {"feedback_id"}  # OpinionRaised may grow fields
        cmd = RecordActivityOpinion(feedback_id=feedback_id, **e.model_dump(include=fields))
        ctx = RequestContext(actor=env.actor, correlation_id=env.correlation_id, received_at=datetime.now(UTC))
        await execute(store(), decider, feedback_stream_id(feedback_id), cmd, ctx, occurred_at=env.occurred_at,
                      conn=conn, causation_id=str(env.event_id))

    sweeper = DeadlineSweeper(store=store, decider=decider, settings=settings, schema=rt.schema, clock=clock)
    rt.follow_events([copy_model(record_opinion)], ["projects", "delegates", "activities"])
    handlers.register(rt, decider, sweeper)
    departments.register(rt.ingest(), store, decider)
    rt.background(sweeper.run)

    async def copy() -> dict[str, int] | None:
        return await copy_counts(rt.pool) if rt.pool else None

    async def sweeper_active() -> bool:
        return sweeper.active

    rt.health_extras["copy"] = copy
    rt.health_extras["sweeper_active"] = sweeper_active
    return rt


def main() -> None:
    """Run the feedback service until SIGINT/SIGTERM."""
    settings = get_settings()
    configure_logging(settings, SERVICE)
    asyncio.run(build(settings).run())
