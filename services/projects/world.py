"""Loading what project rules need from other aggregates, from the service's own event store."""

from __future__ import annotations

import asyncpg

from services.projects.project_state import World
from services.projects.year import YearState, year_decider
from shared.contracts.base import registry
from shared.contracts.projects import DepartmentRegistered, year_stream_id
from shared.eventstore.store import EventStore


async def load_year(store: EventStore, year: int, conn: asyncpg.Connection | None = None) -> YearState:
    """The calendar of a year as its stream says (not opened if the stream is empty)."""
    events, _ = await store.load_events(year_stream_id(year), conn)
    return year_decider.fold(events)


async def department_registry(store: EventStore,
                              conn: asyncpg.Connection | None = None) -> dict[str, DepartmentRegistered]:
    """Every registered department by code, read from this service's own events."""
    sql = "SELECT type, schema_version, data FROM events WHERE type = $1 ORDER BY pos"
    rows = await (conn or store.pool).fetch(sql, DepartmentRegistered.type)
    found = [registry.decode(r["type"], r["schema_version"], r["data"]) for r in rows]
    return {d.code: d for d in found if isinstance(d, DepartmentRegistered)}


async def load_world(store: EventStore, year: int, *, with_departments: bool = False,
                     conn: asyncpg.Connection | None = None) -> World:
    """The facts a project command of `year` is decided with."""
    departments = frozenset(await department_registry(store, conn)) if with_departments else frozenset()
    return World(year=await load_year(store, year, conn), departments=departments)
