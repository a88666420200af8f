"""Wiring of the projects service: runtime, handlers, run."""

from __future__ import annotations

import asyncio

from services.projects import handlers
from shared.config import get_settings
from shared.contracts.projects import SERVICE
from shared.logging import configure_logging
from shared.service import ServiceRuntime


def build(settings=None) -> ServiceRuntime:  # type: ignore[no-untyped-def]
    """The projects service, ready to start."""
    settings = settings or get_settings()
    rt = ServiceRuntime(SERVICE, settings)
    handlers.register(rt)
    return rt


def main() -> None:
    """Run the projects service until SIGINT/SIGTERM."""
    settings = get_settings()
    configure_logging(settings, SERVICE)
    asyncio.run(build(settings).run())
