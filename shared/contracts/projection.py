"""Queries and commands answered by the projection service (views over every service's events)."""

from __future__ import annotations

from pydantic import Field

from shared.contracts.base import Command, Query

SERVICE = "projection"


class RebuildReadModels(Command):
    """Replay the event stream into fresh read-model tables and swap them in."""

    name = "rebuild"


class GetTimeline(Query):
    """Every event about one thing (project, delegate, feedback item, ...) in business-time order."""

    name = "get"

    ref: str = Field(min_length=1, max_length=200, description="an id: project-2026-01, d001, a feedback id ...")
    limit: int = Field(default=500, ge=1, le=5000)
