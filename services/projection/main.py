"""Wiring of the projection service: runtime, runner, query handlers, run."""

from __future__ import annotations

import asyncio

from services.projection import handlers
from services.projection.runner import LIVE_SCHEMA, ProjectionRunner
from services.projection.views import READ_MODELS
from shared.config import Settings, get_settings
from shared.contracts.base import registry
from shared.logging import configure_logging
from shared.service import ServiceRuntime

SERVICE = "projection"


def build(settings: Settings | None = None) -> tuple[ServiceRuntime, handlers.RunnerRef]:
    """The projection service, ready to start, and a handle on its runner."""
    settings = settings or get_settings()
    rt = ServiceRuntime(SERVICE, settings, schema=LIVE_SCHEMA, event_sourced=False)
    ref = handlers.RunnerRef()
    handlers.register(rt, ref)

    async def follow_events() -> None:
        assert rt.pool is not None and rt.js is not None and settings.database_url
        ref.current = ProjectionRunner(rt.pool, rt.js, settings, READ_MODELS, registry, settings.database_url)
        await ref.current.run()

    async def lag() -> int | None:
        return await ref.current.lag() if ref.current else None

    async def last_applied_at() -> str | None:
        at = ref.current.follower.last_recorded_at if ref.current else None
        return at.isoformat() if at else None

    async def runner_active() -> bool:
        return bool(ref.current and ref.current.active)

    rt.background(follow_events)
    rt.health_extras["lag"] = lag
    rt.health_extras["last_applied_at"] = last_applied_at  # recorded time of the latest applied event
    rt.health_extras["runner_active"] = runner_active
    return rt, ref


def main() -> None:
    """Run the projection service until SIGINT/SIGTERM."""
    settings = get_settings()
    configure_logging(settings, SERVICE)
    rt, _ = build(settings)
    asyncio.run(rt.run())
