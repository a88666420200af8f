"""The service's own copy of projects' and delegates' events, and reading References from it."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from services.activities.references import DelegateRef, GroupRef, ProjectRef, References
from shared.contracts.base import EventEnvelope
from shared.contracts.delegates import (
    DelegateDetailsChanged,
    DelegateRegistered,
    DelegateTermEnded,
    GroupFormed,
    GroupLeaderAppointed,
    GroupMemberJoined,
    GroupMemberLeft,
)
from shared.contracts.projects import (
    ProjectCancelled,
    ProjectVoted,
    YearCalendar,
    YearCalendarAdjusted,
    YearClosed,
    YearOpened,
)
from shared.readmodel import ReadModel

FOLLOWED_SERVICES = ["projects", "delegates"]

# Tables come from the service's migrations (0001_copies.sql); this model only fills them.
model = ReadModel(name="activities-copy")


@model.on(YearOpened)
async def year_opened(conn: asyncpg.Connection, env: EventEnvelope, e: YearOpened) -> None:
    """A year's calendar becomes known."""
    await conn.execute(
        """INSERT INTO ref_years (year, calendar) VALUES ($1, $2)
           ON CONFLICT (year) DO UPDATE SET calendar = excluded.calendar""",
        e.year, e.calendar.model_dump(mode="json"),
    )


@model.on(YearCalendarAdjusted)
async def year_calendar_adjusted(conn: asyncpg.Connection, env: EventEnvelope, e: YearCalendarAdjusted) -> None:
    """The new calendar replaces the old one whole."""
    await conn.execute("UPDATE ref_years SET calendar = $2 WHERE year = $1", e.year, e.calendar.model_dump(mode="json"))


@model.on(YearClosed)
async def year_closed(conn: asyncpg.Connection, env: EventEnvelope, e: YearClosed) -> None:
    """The year's records are closed: no more changes to its activities and contact points."""
    await conn.execute("UPDATE ref_years SET closed = true WHERE year = $1", e.year)


@model.on(ProjectVoted)
async def project_voted(conn: asyncpg.Connection, env: EventEnvelope, e: ProjectVoted) -> None:
    """A voted project becomes known."""
    await conn.execute(
        """INSERT INTO ref_projects (project_id, year, code, title) VALUES ($1, $2, $3, $4)
           ON CONFLICT (project_id) DO UPDATE SET year = excluded.year, code = excluded.code, title = excluded.title""",
        e.project_id, e.year, e.code, e.title,
    )


@model.on(ProjectCancelled)
async def project_cancelled(conn: asyncpg.Connection, env: EventEnvelope, e: ProjectCancelled) -> None:
    """A cancelled project takes no new activities or contact points."""
    await conn.execute("UPDATE ref_projects SET cancelled_on = $2 WHERE project_id = $1", e.project_id, e.cancelled_on)


@model.on(DelegateRegistered)
async def delegate_registered(conn: asyncpg.Connection, env: EventEnvelope, e: DelegateRegistered) -> None:
    """A delegate becomes known, in office from the term start."""
    await conn.execute(
        """INSERT INTO ref_delegates (delegate_id, name, term_start) VALUES ($1, $2, $3)
           ON CONFLICT (delegate_id) DO UPDATE SET name = excluded.name, term_start = excluded.term_start,
                                                   ended_on = NULL""",
        e.delegate_id, e.name, e.term_start,
    )


@model.on(DelegateDetailsChanged)
async def delegate_details_changed(conn: asyncpg.Connection, env: EventEnvelope, e: DelegateDetailsChanged) -> None:
    """A delegate's name may have changed."""
    await conn.execute("UPDATE ref_delegates SET name = $2 WHERE delegate_id = $1", e.delegate_id, e.name)


@model.on(DelegateTermEnded)
async def delegate_term_ended(conn: asyncpg.Connection, env: EventEnvelope, e: DelegateTermEnded) -> None:
    """A delegate leaves office: no invitations or contact duties from that day."""
    await conn.execute("UPDATE ref_delegates SET ended_on = $2 WHERE delegate_id = $1", e.delegate_id, e.ended_on)


@model.on(GroupFormed)
async def group_formed(conn: asyncpg.Connection, env: EventEnvelope, e: GroupFormed) -> None:
    """A group of a year becomes known."""
    await conn.execute(
        """INSERT INTO ref_groups (group_id, year, name) VALUES ($1, $2, $3)
           ON CONFLICT (group_id) DO UPDATE SET year = excluded.year, name = excluded.name""",
        e.group_id, e.year, e.name,
    )


@model.on(GroupMemberJoined)
async def group_member_joined(conn: asyncpg.Connection, env: EventEnvelope, e: GroupMemberJoined) -> None:
    """A delegate is a member of the group."""
    await conn.execute("INSERT INTO ref_group_members (group_id, delegate_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                       e.group_id, e.delegate_id)


@model.on(GroupMemberLeft)
async def group_member_left(conn: asyncpg.Connection, env: EventEnvelope, e: GroupMemberLeft) -> None:
    """A delegate is no longer a member of the group."""
    await conn.execute("DELETE FROM ref_group_members WHERE group_id = $1 AND delegate_id = $2",
                       e.group_id, e.delegate_id)


@model.on(GroupLeaderAppointed)
async def group_leader_appointed(conn: asyncpg.Connection, env: EventEnvelope, e: GroupLeaderAppointed) -> None:
    """The group's leader (组长)."""
    await conn.execute("UPDATE ref_groups SET leader_id = $2 WHERE group_id = $1", e.group_id, e.delegate_id)


async def load_references(conn: asyncpg.Connection, *, project_ids: Iterable[str] = (), group_ids: Iterable[str] = (),
                          delegate_ids: Iterable[str] = ()) -> References:
    """What one decision needs: every year's calendar, and the named projects, groups and delegates."""
    years = await conn.fetch("SELECT year, calendar, closed FROM ref_years")
    projects = await conn.fetch(
        "SELECT project_id, year, cancelled_on FROM ref_projects WHERE project_id = ANY($1::text[])", list(project_ids))
    groups = await conn.fetch(
        """SELECT g.group_id, g.year, g.name,
                  coalesce(array_agg(m.delegate_id ORDER BY m.delegate_id)
                           FILTER (WHERE m.delegate_id IS NOT NULL), '{}') AS members
           FROM ref_groups g LEFT JOIN ref_group_members m USING (group_id)
           WHERE g.group_id = ANY($1::text[]) GROUP BY g.group_id, g.year, g.name""",
        list(group_ids),
    )
    wanted = set(delegate_ids).union(*(r["members"] for r in groups))
    delegates = await conn.fetch(
        "SELECT delegate_id, name, term_start, ended_on FROM ref_delegates WHERE delegate_id = ANY($1::text[])",
        list(wanted),
    )
    return References(
        calendars={r["year"]: YearCalendar.model_validate(r["calendar"]) for r in years},
        closed_years=frozenset(r["year"] for r in years if r["closed"]),
        projects={r["project_id"]: ProjectRef(**dict(r)) for r in projects},
        groups={r["group_id"]: GroupRef(r["group_id"], r["year"], r["name"], tuple(r["members"])) for r in groups},
        delegates={r["delegate_id"]: DelegateRef(**dict(r)) for r in delegates},
    )
