"""Wiring of the projects service: runtime, handlers, run."""

from __future__ import annotations

import asyncio
from pathlib import Path

from services.projects import handlers
from shared.config import get_settings
from shared.contracts.projects import SERVICE
from shared.eventstore.migrations import migrations_in
from shared.logging import configure_logging
from shared.service import ServiceRuntime

MIGRATIONS = migrations_in(SERVICE, Path(__file__).parent / "migrations")


def build(settings=None) -> ServiceRuntime:  # type: ignore[no-untyped-def]
    """The projects service, ready to start."""
    settings = settings or get_settings()
    rt = ServiceRuntime(SERVICE, settings, migrations=MIGRATIONS)
    handlers.register(rt)
    return rt


def main() -> None:
    """Run the projects service until SIGINT/SIGTERM."""
    settings = get_settings()
    configure_logging(settings, SERVICE)
    asyncio.run(build(settings).run())
