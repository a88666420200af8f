"""Bulk import of the office's roster: each row registered, updated or refused, with a row-level report.

Rows arrive keyed by field names (the CLI) or by the file's own column headers (the gateway's
upload); each row is decided and recorded in its own transaction, so a bad row refuses only itself
and importing the same roster again changes nothing ("unchanged").
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import asyncpg

from services.delegates.domain.delegate import delegate_decider
from services.delegates.roster import canonical, duplicate_rows, row_command
from services.delegates.running import plain, run
from shared.contracts.delegates import SERVICE, ChangeDelegateDetails, ImportRoster, RosterRow, delegate_stream_id
from shared.errors import HuiminError, ValidationFailed
from shared.eventstore.store import EventStore
from shared.rpc import RequestContext
from shared.service import ServiceRuntime
from shared.subjects import command_subject
from shared.timeutil import start_of_day


async def import_row(store: EventStore, conn: asyncpg.Connection, row: RosterRow, reason: str,
                     ctx: RequestContext) -> str:
    """Register the row's delegate, or bring their details in line with the row; the row's status."""
    register = row_command(row.fields)
    stream_id = delegate_stream_id(register.delegate_id)
    decider = plain(delegate_decider)
    async with conn.transaction():
        history, _ = await store.load_events(stream_id, conn)
        if not delegate_decider.fold(history).registered:
            await run(store, conn, decider, stream_id, register, ctx, occurred_at=start_of_day(register.term_start))
            return "created"
        change = ChangeDelegateDetails.model_validate({**register.details(), "reason": reason})
        return "updated" if await run(store, conn, decider, stream_id, change, ctx) else "unchanged"


async def import_roster_rows(store: EventStore, pool: asyncpg.Pool, cmd: ImportRoster,
                             ctx: RequestContext) -> dict[str, Any]:
    """The row-level report of an import: status per row (created/updated/unchanged/error) and a summary."""
    dups = duplicate_rows(cmd.rows)
    report = []
    async with pool.acquire() as conn:
        for row in cmd.rows:
            fields = canonical(row.fields)
            entry: dict[str, Any] = {"row": row.row, "delegate_id": fields.get("delegate_id"),
                                     "name": fields.get("name")}
            try:
                if row.row in dups:
                    raise ValidationFailed(f"代表编号与第 {dups[row.row]} 行重复 / same delegate id as row {dups[row.row]}",
                                           [{"field": "delegate_id", "message": "编号重复 / duplicate id"}])
                entry["status"] = await import_row(store, conn, row, cmd.reason, ctx)
            except HuiminError as exc:
                entry.update(status="error", error=exc.to_reply()["error"])
            report.append(entry)
    counts = Counter(r["status"] for r in report)
    return {"rows": report, "summary": {k: counts.get(k, 0) for k in ("created", "updated", "unchanged", "error")}}


def register(rt: ServiceRuntime) -> None:
    """Attach the import command to the runtime."""

    @rt.rpc.handle(command_subject(SERVICE, ImportRoster.name), ImportRoster)
    async def import_roster(cmd: ImportRoster, ctx: RequestContext) -> dict[str, Any]:
        assert rt.store is not None and rt.pool is not None
        return await import_roster_rows(rt.store, rt.pool, cmd, ctx)
