"""Loading what project rules need from other aggregates, from the service's own database."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from services.projects.project_state import World
from services.projects.year import YearState, year_decider
from shared.contracts.base import Event
from shared.contracts.projects import DepartmentRegistered, year_stream_id
from shared.eventstore.store import EventStore


async def load_year(store: EventStore, year: int, conn: asyncpg.Connection | None = None) -> YearState:
    """The calendar of a year as its stream says (not opened if the stream is empty)."""
    events, _ = await store.load_events(year_stream_id(year), conn)
    return year_decider.fold(events)


async def department_registry(store: EventStore,
                              conn: asyncpg.Connection | None = None) -> dict[str, DepartmentRegistered]:
    """Every registered department by code (the `departments` table, kept with their events)."""
    rows = await (conn or store.pool).fetch("SELECT code, name, short_name FROM departments ORDER BY pos")
    return {r["code"]: DepartmentRegistered(code=r["code"], name=r["name"], short_name=r["short_name"]) for r in rows}


class KnownDepartments:
    """Department codes this process has seen registered: departments are only ever added, so a
    code once found stays valid and skips the lookup; a code not (yet) known is always looked up,
    so one registered a moment ago, by any process, is found."""

    def __init__(self) -> None:
        self.codes: set[str] = set()

    async def registered(self, store: EventStore, codes: Iterable[str],
                         conn: asyncpg.Connection | None = None) -> frozenset[str]:
        """Those of `codes` that are registered departments."""
        wanted = set(codes)
        if not wanted <= self.codes:
            self.codes |= await registered_departments(store, wanted - self.codes, conn)
        return frozenset(wanted & self.codes)


async def registered_departments(store: EventStore, codes: Iterable[str],
                                 conn: asyncpg.Connection | None = None) -> frozenset[str]:
    """Those of `codes` that are registered departments (one indexed lookup, not the whole registry)."""
    rows = await (conn or store.pool).fetch("SELECT code FROM departments WHERE code = ANY($1::text[])", list(codes))
    return frozenset(r["code"] for r in rows)


async def load_for_project(store: EventStore, year: int, project_id: str, *, units: Iterable[str] = (),
                           known: KnownDepartments | None = None,
                           conn: asyncpg.Connection | None = None) -> tuple[World, tuple[list[Event], int]]:
    """The facts a project command of `year` is decided with (`units`: the departments it names) and
    the project's own stream, the year's and the project's streams read in one query."""
    wanted = list(units)
    if not wanted:
        departments: frozenset[str] = frozenset()
    elif known is not None:
        departments = await known.registered(store, wanted, conn)
    else:
        departments = await registered_departments(store, wanted, conn)
    year_id = year_stream_id(year)
    streams = await store.load_streams([year_id, project_id], conn)
    return World(year=year_decider.fold(streams[year_id][0]), departments=departments), streams[project_id]
