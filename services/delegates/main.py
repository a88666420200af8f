"""Wiring of the delegates service: runtime, own tables, copy of the projects' events, handlers, run."""

from __future__ import annotations

import asyncio
from pathlib import Path

from services.delegates import handlers, importing, suggest
from services.delegates.projects_copy import projects_copy
from shared.config import Settings, get_settings
from shared.contracts.delegates import SERVICE
from shared.contracts.projects import SERVICE as PROJECTS
from shared.eventstore.migrations import migrations_in
from shared.logging import configure_logging
from shared.service import ServiceRuntime

MIGRATIONS = migrations_in(SERVICE, Path(__file__).parent / "migrations")


def build(settings: Settings | None = None) -> ServiceRuntime:
    """The delegates service, ready to start."""
    settings = settings or get_settings()
    rt = ServiceRuntime(SERVICE, settings, migrations=MIGRATIONS)
    rt.follow_events([projects_copy], [PROJECTS])
    handlers.register(rt)
    importing.register(rt)
    suggest.register(rt)
    return rt


def main() -> None:
    """Run the delegates service until SIGINT/SIGTERM."""
    settings = get_settings()
    configure_logging(settings, SERVICE)
    asyncio.run(build(settings).run())
