"""Wiring of the activities service: runtime, its copy of projects' and delegates' events, handlers, run."""

from __future__ import annotations

import asyncio
from pathlib import Path

from services.activities import contact_handlers, copies, handlers
from shared.config import Settings, get_settings
from shared.contracts.activities import SERVICE
from shared.eventstore.migrations import migrations_in
from shared.logging import configure_logging
from shared.service import ServiceRuntime

MIGRATIONS = migrations_in(SERVICE, Path(__file__).parent / "migrations")


def build(settings: Settings | None = None) -> ServiceRuntime:
    """The activities service, ready to start."""
    settings = settings or get_settings()
    rt = ServiceRuntime(SERVICE, settings, migrations=MIGRATIONS)
    rt.follow_events([copies.model], copies.FOLLOWED_SERVICES)
    handlers.register(rt)
    contact_handlers.register(rt)
    return rt


def main() -> None:
    """Run the activities service until SIGINT/SIGTERM."""
    settings = get_settings()
    configure_logging(settings, SERVICE)
    asyncio.run(build(settings).run())
