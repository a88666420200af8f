"""The service's own tables: facts written with its events, and read (with the projects copy) for rules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import asyncpg

from services.delegates.domain.facts import DelegateFact, GroupFact, ProjectFact, YearFact
from shared.contracts.base import Event, EventEnvelope, registry
from shared.contracts.delegates import (
    CommitteeRegistered,
    DelegateDetailsChanged,
    DelegateRegistered,
    DelegateTermEnded,
    GroupFormed,
    GroupLeaderAppointed,
    GroupMemberJoined,
    GroupMemberLeft,
    LeaderRegistered,
    SupervisionAssigned,
)
from shared.contracts.projects import Location

Recorder = Callable[[asyncpg.Connection, Any], Awaitable[Any]]


def _json(location: Location | None) -> dict[str, Any] | None:
    return location.model_dump(mode="json") if location else None


def _location(data: dict[str, Any] | None) -> Location | None:
    return Location.model_validate(data) if data else None


_RECORDERS: dict[type[Event], Recorder] = {
    DelegateRegistered: lambda c, e: c.execute(
        """INSERT INTO delegate_facts (delegate_id, name, level, constituency, home, work, active)
           VALUES ($1, $2, $3, $4, $5, $6, true)""",
        e.delegate_id, e.name, e.level, e.constituency, _json(e.home), _json(e.work)),
    DelegateDetailsChanged: lambda c, e: c.execute(
        """UPDATE delegate_facts SET name = $2, level = $3, constituency = $4, home = $5, work = $6
           WHERE delegate_id = $1""",
        e.delegate_id, e.name, e.level, e.constituency, _json(e.home), _json(e.work)),
    DelegateTermEnded: lambda c, e: c.execute(
        "UPDATE delegate_facts SET active = false WHERE delegate_id = $1", e.delegate_id),
    GroupFormed: lambda c, e: c.execute(
        """INSERT INTO group_facts (group_id, year, name, kind, township, location)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        e.group_id, e.year, e.name, e.kind, e.township, _json(e.location)),
    GroupMemberJoined: lambda c, e: c.execute(
        "INSERT INTO memberships (year, delegate_id, group_id) VALUES ($1, $2, $3)", e.year, e.delegate_id, e.group_id),
    GroupMemberLeft: lambda c, e: c.execute(
        "DELETE FROM memberships WHERE year = $1 AND delegate_id = $2 AND group_id = $3",
        e.year, e.delegate_id, e.group_id),
    GroupLeaderAppointed: lambda c, e: c.execute(
        "UPDATE group_facts SET leader_id = $2 WHERE group_id = $1", e.group_id, e.delegate_id),
    LeaderRegistered: lambda c, e: c.execute(
        "INSERT INTO leader_facts (leader_id, name, title, committee_ids) VALUES ($1, $2, $3, $4)",
        e.leader_id, e.name, e.title, e.committee_ids),
    CommitteeRegistered: lambda c, e: c.execute(
        "INSERT INTO committee_facts (committee_id, name, categories) VALUES ($1, $2, $3)",
        e.committee_id, e.name, e.categories),
    SupervisionAssigned: lambda c, e: c.execute(
        """INSERT INTO supervision_facts (project_id, year, leader_id, committee_id, group_id)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (project_id) DO UPDATE SET leader_id = excluded.leader_id,
               committee_id = excluded.committee_id, group_id = excluded.group_id""",
        e.project_id, e.year, e.leader_id, e.committee_id, e.group_id),
}


async def record(conn: asyncpg.Connection, envelopes: Sequence[EventEnvelope]) -> None:
    """Bring the fact tables in line with just-appended events (same transaction as the append)."""
    for env in envelopes:
        event = registry.decode_envelope(env)
        recorder = _RECORDERS.get(type(event))
        if recorder is not None:
            await recorder(conn, event)
        if isinstance(event, GroupMemberLeft):
            # A leader who leaves is no longer the group's leader.
            await conn.execute("UPDATE group_facts SET leader_id = NULL WHERE group_id = $1 AND leader_id = $2",
                               event.group_id, event.delegate_id)


def delegate_fact(row: asyncpg.Record) -> DelegateFact:
    """A delegate fact from its row."""
    return DelegateFact(delegate_id=row["delegate_id"], name=row["name"], active=row["active"], level=row["level"],
                        constituency=row["constituency"], home=_location(row["home"]), work=_location(row["work"]))


def group_fact(row: asyncpg.Record) -> GroupFact:
    """A group fact from its row."""
    return GroupFact(group_id=row["group_id"], year=row["year"], name=row["name"], kind=row["kind"],
                     township=row["township"], location=_location(row["location"]), leader_id=row["leader_id"])


async def delegates(conn: asyncpg.Connection, ids: Iterable[str], *, lock: bool = False) -> dict[str, DelegateFact]:
    """The named delegates that exist; with `lock`, share-locked until the caller's transaction ends.

    The lock makes a rule that needs an active delegate atomic with its write: an end of term
    (which locks the row for update, `lock_delegate`) waits for it, or it waits for the end of term
    and then reads the delegate as ended.
    """
    sql = "SELECT * FROM delegate_facts WHERE delegate_id = ANY($1::text[])"
    rows = await conn.fetch(f"{sql} ORDER BY delegate_id FOR SHARE" if lock else sql, list(ids))
    return {r["delegate_id"]: delegate_fact(r) for r in rows}


async def lock_delegate(conn: asyncpg.Connection, delegate_id: str) -> None:
    """Lock a delegate's fact row for update until the caller's transaction ends (see `delegates`)."""
    await conn.execute("SELECT 1 FROM delegate_facts WHERE delegate_id = $1 FOR UPDATE", delegate_id)


async def groups_in_open_years(conn: asyncpg.Connection, delegate_id: str) -> list[str]:
    """The groups a delegate is in, of years whose records are not closed, by id."""
    rows = await conn.fetch(
        """SELECT m.group_id FROM memberships m LEFT JOIN year_copy y ON y.year = m.year
           WHERE m.delegate_id = $1 AND NOT coalesce(y.closed, false) ORDER BY m.group_id""", delegate_id)
    return [r["group_id"] for r in rows]


async def active_delegates(conn: asyncpg.Connection) -> list[DelegateFact]:
    """Every active delegate, by id."""
    rows = await conn.fetch("SELECT * FROM delegate_facts WHERE active ORDER BY delegate_id")
    return [delegate_fact(r) for r in rows]


async def memberships(conn: asyncpg.Connection, year: int, ids: Iterable[str] | None = None) -> dict[str, str]:
    """Delegate id -> group id in a year (of the named delegates, or of all)."""
    if ids is None:
        rows = await conn.fetch("SELECT delegate_id, group_id FROM memberships WHERE year = $1", year)
    else:
        rows = await conn.fetch("SELECT delegate_id, group_id FROM memberships WHERE year = $1 "
                                "AND delegate_id = ANY($2::text[])", year, list(ids))
    return {r["delegate_id"]: r["group_id"] for r in rows}


async def members_of(conn: asyncpg.Connection, group_id: str) -> dict[str, str]:
    """Delegate id -> group id of a group's current members."""
    rows = await conn.fetch("SELECT delegate_id FROM memberships WHERE group_id = $1", group_id)
    return {r["delegate_id"]: group_id for r in rows}


async def group(conn: asyncpg.Connection, group_id: str) -> GroupFact | None:
    """A group, if formed."""
    row = await conn.fetchrow("SELECT * FROM group_facts WHERE group_id = $1", group_id)
    return group_fact(row) if row else None


async def groups_of_year(conn: asyncpg.Connection, year: int) -> list[GroupFact]:
    """The groups of a year, by id."""
    rows = await conn.fetch("SELECT * FROM group_facts WHERE year = $1 ORDER BY group_id", year)
    return [group_fact(r) for r in rows]


async def existing(conn: asyncpg.Connection, table: str, column: str, ids: Iterable[str]) -> frozenset[str]:
    """Which of the ids exist in a registry table (leader_facts / committee_facts)."""
    assert (table, column) in {("leader_facts", "leader_id"), ("committee_facts", "committee_id")}
    rows = await conn.fetch(f"SELECT {column} FROM {table} WHERE {column} = ANY($1::text[])", list(ids))
    return frozenset(r[column] for r in rows)


async def year(conn: asyncpg.Connection, year_: int) -> YearFact | None:
    """A year as the projects service announced it, if it did."""
    row = await conn.fetchrow("SELECT year, opened, closed FROM year_copy WHERE year = $1", year_)
    return YearFact(row["year"], row["opened"], row["closed"]) if row else None


async def project(conn: asyncpg.Connection, project_id: str) -> ProjectFact | None:
    """A voted project from the copy, if received."""
    row = await conn.fetchrow("SELECT * FROM project_copy WHERE project_id = $1", project_id)
    if row is None:
        return None
    return ProjectFact(project_id=row["project_id"], year=row["year"], title=row["title"], category=row["category"],
                       townships=tuple(row["townships"]),
                       locations=tuple(Location.model_validate(x) for x in row["locations"]),
                       cancelled_on=row["cancelled_on"])
