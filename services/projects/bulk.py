"""Bulk imports: every row is decided on its own and reported as created, unchanged or error.

The choice (docs/projects.md): a bad row does not stop the good ones. A file-level problem (format,
missing column, year not open) refuses the whole file before any row. Stream ids are deterministic
(department-<code>, project-<year>-<code>), so importing the same file again changes nothing.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any

from services.projects.department import department_decider, registered
from shared.handling import execute_retrying
from services.projects.imports import (
    DEPARTMENT_COLUMNS, PROJECT_COLUMNS, RowError, department_command, project_command, read_table, records,
)
from services.projects.project import project_decider, voted_event
from services.projects.project_state import World
from services.projects.rules import refuse
from services.projects.world import department_registry, load_year
from services.projects.year import require_open_year
from shared.contracts.base import Command, Event
from shared.contracts.projects import (
    DepartmentRegistered, ImportDepartments, ImportFile, ImportVotedProjects, department_stream_id, project_stream_id,
)
from shared.decider import Decider
from shared.errors import HuiminError, ValidationFailed
from shared.eventstore.store import EventStore
from shared.rpc import RequestContext
from shared.timeutil import start_of_day

Row = dict[str, Any]


def _content(cmd: ImportFile) -> bytes:
    try:
        return base64.b64decode(cmd.content_base64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise refuse(ValidationFailed, "bad_base64", "文件内容不是有效的 base64", "content_base64 is not valid base64",
                     "content_base64") from exc


def _error_details(exc: HuiminError) -> list[dict[str, Any]]:
    if isinstance(exc.details, list) and all(isinstance(d, dict) for d in exc.details):
        return exc.details
    return [{"field": None, "code": str(exc.code), "message": exc.message}]


async def _one(store: EventStore, decider: Decider[Any], stream_id: str, cmd: Command, expected: Event,
               existing: Callable[[Any], Event | None], ctx: RequestContext, occurred_at: Any = None) -> Row:
    """Create the stream unless it exists; an existing one equal to the row is 'unchanged'."""
    history, _ = await store.load_events(stream_id)
    there = existing(decider.fold(history))
    if there is not None:
        if there == expected:
            return {"status": "unchanged", "id": stream_id}
        return {"status": "error", "id": stream_id, "reasons": [{
            "field": "code", "code": "exists_with_other_content",
            "message": "编号已登记且内容不同；如需修改请逐项办理 / already registered with other content"}]}
    try:
        events = await execute_retrying(store, decider, stream_id, cmd, ctx, occurred_at)
    except HuiminError as exc:
        return {"status": "error", "id": stream_id, "reasons": _error_details(exc)}
    return {"status": "created", "id": stream_id, "event_ids": [str(e.event_id) for e in events]}


async def _each(cmd: ImportFile, columns: dict[str, Any],
                row_fn: Callable[[int, Row], Awaitable[Row]]) -> dict[str, Any]:
    table = read_table(cmd.file_name, _content(cmd))
    rows = []
    for number, cells in records(table, columns):
        try:
            outcome = await row_fn(number, cells)
        except RowError as exc:
            outcome = {"status": "error", "reasons": exc.problems}
        rows.append({"row": number, **outcome})
    counts = {s: sum(r["status"] == s for r in rows) for s in ("created", "unchanged", "error")}
    return {"file": cmd.file_name, **counts, "rows": rows}


async def import_departments(store: EventStore, cmd: ImportDepartments, ctx: RequestContext) -> dict[str, Any]:
    """Register each department row of the file."""

    async def row(number: int, cells: Row) -> Row:
        reg = department_command(cells)
        return await _one(store, department_decider, department_stream_id(reg.code), reg, registered(reg),
                          lambda s: DepartmentRegistered(code=s.code, name=s.name, short_name=s.short_name)
                          if s.code else None, ctx)

    return await _each(cmd, DEPARTMENT_COLUMNS, row)


async def import_projects(store: EventStore, cmd: ImportVotedProjects, ctx: RequestContext) -> dict[str, Any]:
    """Register each voted-project row of the file for the year."""
    year = await load_year(store, cmd.year)
    calendar = require_open_year(year, cmd.year)
    departments = await department_registry(store)
    by_name = {k: d.code for d in departments.values() for k in (d.code, d.name, d.short_name)}
    decider = project_decider(World(year=year, departments=frozenset(departments)))

    async def row(number: int, cells: Row) -> Row:
        reg = project_command(cells, year=cmd.year, default_voted_on=calendar.session_end, unit_code=by_name.get)
        return await _one(store, decider, project_stream_id(cmd.year, reg.code), reg, voted_event(reg),
                          lambda s: s.voted, ctx, start_of_day(reg.voted_on))

    return {"year": cmd.year, **await _each(cmd, PROJECT_COLUMNS, row)}
