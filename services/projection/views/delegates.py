"""Delegates, groups, leaders, committees and supervision assignments (huimin.qry.delegates.*).

Personal data (phone, exact home location) sits in each delegate's nested `personal` object, so
the gateway can drop it for roles that need not see it. The proximity suggestion is not here:
the delegates service answers `huimin.qry.delegates.suggest` from its own tables.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from shared.contracts.base import EventEnvelope
from shared.contracts.delegates import (
    CommitteeRegistered,
    ContactDutyAssigned,
    ContactDutyReleased,
    DelegateDetailsChanged,
    DelegateRegistered,
    DelegateTermEnded,
    GetDelegate,
    GroupFormed,
    GroupLeaderAppointed,
    GroupMemberJoined,
    GroupMemberLeft,
    LeaderRegistered,
    ListCommittees,
    ListDelegates,
    ListGroups,
    ListLeaders,
    ListSupervision,
    SupervisionAssigned,
)
from shared.errors import NotFound, ValidationFailed
from shared.readmodel import ReadModel

VIEW = "delegates"

model = ReadModel(
    name="delegates",
    ddl="""
    CREATE TABLE delegates (
        delegate_id  text PRIMARY KEY,
        name         text NOT NULL,
        gender       text NOT NULL,
        ethnicity    text NOT NULL,
        level        text NOT NULL,
        constituency text NOT NULL,
        occupation   text NOT NULL,
        work_unit    text NOT NULL,
        work         jsonb,
        personal     jsonb NOT NULL,  -- {"phone", "home"}: personal data, hidden per role by the gateway
        term_start   date NOT NULL,
        active       boolean NOT NULL,
        ended_on     date,
        end_reason   text,
        updated_at   timestamptz NOT NULL
    );
    CREATE INDEX delegates_level ON delegates (level, delegate_id);
    CREATE TABLE delegate_groups (
        group_id  text PRIMARY KEY,
        year      integer NOT NULL,
        name      text NOT NULL,
        kind      text NOT NULL,
        township  text NOT NULL,
        location  jsonb,
        leader_id text,
        member_count integer NOT NULL DEFAULT 0  -- kept by the member appliers: no count per query
    );
    CREATE TABLE delegate_group_members (
        group_id    text NOT NULL,
        year        integer NOT NULL,
        delegate_id text NOT NULL,
        joined_at   timestamptz NOT NULL,
        PRIMARY KEY (group_id, delegate_id)
    );
    CREATE INDEX delegate_group_members_delegate ON delegate_group_members (delegate_id, year);
    CREATE TABLE delegate_leaders (
        leader_id text PRIMARY KEY, name text NOT NULL, title text NOT NULL, committee_ids text[] NOT NULL
    );
    CREATE TABLE delegate_committees (
        committee_id text PRIMARY KEY, name text NOT NULL, categories text[] NOT NULL
    );
    CREATE TABLE delegate_supervision (
        project_id   text PRIMARY KEY,
        year         integer NOT NULL,
        leader_id    text NOT NULL,
        committee_id text NOT NULL,
        group_id     text NOT NULL,
        reason       text NOT NULL,
        assigned_at  timestamptz NOT NULL,
        changes      integer NOT NULL  -- how often the assignment was changed after the first one
    );
    CREATE TABLE delegate_contact_duties (
        project_id      text NOT NULL,
        delegate_id     text NOT NULL,
        year            integer NOT NULL,
        override_reason text NOT NULL,
        assigned_at     timestamptz NOT NULL,
        PRIMARY KEY (project_id, delegate_id)
    );
    """,
)


def _personal(e: DelegateRegistered | DelegateDetailsChanged) -> dict[str, Any]:
    return {"phone": e.phone, "home": e.home.model_dump(mode="json") if e.home else None}


def _work(e: DelegateRegistered | DelegateDetailsChanged) -> dict[str, Any] | None:
    return e.work.model_dump(mode="json") if e.work else None


@model.on(DelegateRegistered)
async def delegate_registered(conn: asyncpg.Connection, env: EventEnvelope, e: DelegateRegistered) -> None:
    """A delegate enters the roster."""
    await conn.execute(
        """INSERT INTO delegates (delegate_id, name, gender, ethnicity, level, constituency, occupation, work_unit,
                                  work, personal, term_start, active, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, true, $12)""",
        e.delegate_id, e.name, e.gender, e.ethnicity, e.level, e.constituency, e.occupation, e.work_unit,
        _work(e), _personal(e), e.term_start, env.recorded_at,
    )


@model.on(DelegateDetailsChanged)
async def delegate_details_changed(conn: asyncpg.Connection, env: EventEnvelope, e: DelegateDetailsChanged) -> None:
    """A delegate's details are replaced whole."""
    await conn.execute(
        """UPDATE delegates SET name = $2, gender = $3, ethnicity = $4, level = $5, constituency = $6,
               occupation = $7, work_unit = $8, work = $9, personal = $10, updated_at = $11
           WHERE delegate_id = $1""",
        e.delegate_id, e.name, e.gender, e.ethnicity, e.level, e.constituency, e.occupation, e.work_unit,
        _work(e), _personal(e), env.recorded_at,
    )


@model.on(DelegateTermEnded)
async def delegate_term_ended(conn: asyncpg.Connection, env: EventEnvelope, e: DelegateTermEnded) -> None:
    """A delegate is no longer active."""
    await conn.execute(
        "UPDATE delegates SET active = false, ended_on = $2, end_reason = $3, updated_at = $4 WHERE delegate_id = $1",
        e.delegate_id, e.ended_on, e.reason, env.recorded_at,
    )


@model.on(GroupFormed)
async def group_formed(conn: asyncpg.Connection, env: EventEnvelope, e: GroupFormed) -> None:
    """A group of a year is formed."""
    await conn.execute(
        "INSERT INTO delegate_groups (group_id, year, name, kind, township, location) VALUES ($1, $2, $3, $4, $5, $6)",
        e.group_id, e.year, e.name, e.kind, e.township, e.location.model_dump(mode="json") if e.location else None,
    )


@model.on(GroupMemberJoined)
async def group_member_joined(conn: asyncpg.Connection, env: EventEnvelope, e: GroupMemberJoined) -> None:
    """A delegate joins a group (counted once, even if the membership is already there)."""
    await conn.execute(
        """WITH joined AS (
               INSERT INTO delegate_group_members (group_id, year, delegate_id, joined_at) VALUES ($1, $2, $3, $4)
               ON CONFLICT DO NOTHING RETURNING group_id)
           UPDATE delegate_groups SET member_count = member_count + (SELECT count(*) FROM joined)
           WHERE group_id = $1""",
        e.group_id, e.year, e.delegate_id, env.occurred_at,
    )


@model.on(GroupMemberLeft)
async def group_member_left(conn: asyncpg.Connection, env: EventEnvelope, e: GroupMemberLeft) -> None:
    """A delegate leaves a group (and, if its leader, the group has none)."""
    # One statement: the count drops only by the membership actually removed.
    await conn.execute(
        """WITH left_group AS (
               DELETE FROM delegate_group_members WHERE group_id = $1 AND delegate_id = $2 RETURNING group_id)
           UPDATE delegate_groups SET member_count = member_count - (SELECT count(*) FROM left_group),
               leader_id = CASE WHEN leader_id = $2 THEN NULL ELSE leader_id END
           WHERE group_id = $1""",
        e.group_id, e.delegate_id)


@model.on(GroupLeaderAppointed)
async def group_leader_appointed(conn: asyncpg.Connection, env: EventEnvelope, e: GroupLeaderAppointed) -> None:
    """A group has a new leader."""
    await conn.execute("UPDATE delegate_groups SET leader_id = $2 WHERE group_id = $1", e.group_id, e.delegate_id)


@model.on(LeaderRegistered)
async def leader_registered(conn: asyncpg.Connection, env: EventEnvelope, e: LeaderRegistered) -> None:
    """A standing-committee leader enters the registry."""
    await conn.execute("INSERT INTO delegate_leaders (leader_id, name, title, committee_ids) VALUES ($1, $2, $3, $4)",
                       e.leader_id, e.name, e.title, e.committee_ids)


@model.on(CommitteeRegistered)
async def committee_registered(conn: asyncpg.Connection, env: EventEnvelope, e: CommitteeRegistered) -> None:
    """A special committee enters the registry."""
    await conn.execute("INSERT INTO delegate_committees (committee_id, name, categories) VALUES ($1, $2, $3)",
                       e.committee_id, e.name, e.categories)


@model.on(SupervisionAssigned)
async def supervision_assigned(conn: asyncpg.Connection, env: EventEnvelope, e: SupervisionAssigned) -> None:
    """A project's supervision is assigned, or changed."""
    await conn.execute(
        """INSERT INTO delegate_supervision (project_id, year, leader_id, committee_id, group_id, reason, assigned_at,
                                             changes)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 0)
           ON CONFLICT (project_id) DO UPDATE SET leader_id = excluded.leader_id, committee_id = excluded.committee_id,
               group_id = excluded.group_id, reason = excluded.reason, assigned_at = excluded.assigned_at,
               changes = delegate_supervision.changes + 1""",
        e.project_id, e.year, e.leader_id, e.committee_id, e.group_id, e.reason, env.occurred_at,
    )


@model.on(ContactDutyAssigned)
async def contact_duty_assigned(conn: asyncpg.Connection, env: EventEnvelope, e: ContactDutyAssigned) -> None:
    """Delegates take on contact duty for a project."""
    await conn.execute(
        """INSERT INTO delegate_contact_duties (project_id, delegate_id, year, override_reason, assigned_at)
           SELECT $1, unnest($2::text[]), $3, $4, $5""",
        e.project_id, e.delegate_ids, e.year, e.override_reason, env.occurred_at,
    )


@model.on(ContactDutyReleased)
async def contact_duty_released(conn: asyncpg.Connection, env: EventEnvelope, e: ContactDutyReleased) -> None:
    """A delegate's contact duty ends."""
    await conn.execute("DELETE FROM delegate_contact_duties WHERE project_id = $1 AND delegate_id = $2",
                       e.project_id, e.delegate_id)


_DELEGATE_COLUMNS = """d.delegate_id, d.name, d.gender, d.ethnicity, d.level, d.constituency, d.occupation,
    d.work_unit, d.work, d.active, d.term_start, d.ended_on, d.end_reason, d.personal"""


def _delegate_filter(q: ListDelegates) -> tuple[str, list[Any]]:
    """The WHERE condition of the list's filters on `delegates d`, and its arguments ($1, $2 ...)."""
    args: list[Any] = []
    where = ["TRUE"]
    for cond, value in (("EXISTS (SELECT 1 FROM delegate_group_members x WHERE x.delegate_id = d.delegate_id "
                         "AND x.group_id = ${})", q.group_id),
                        ("d.level = ${}", q.level), ("d.active = ${}", q.active),
                        ("(d.constituency = ${0} OR d.work->>'township' = ${0})", q.township)):
        if value is not None:
            args.append(value)
            where.append(cond.format(len(args)))
    return " AND ".join(where), args


async def list_delegates(conn: asyncpg.Connection, q: ListDelegates) -> dict[str, Any]:
    """One page of the delegates matching the filters, by id, each with their group (of `year`, else the latest)."""
    cond, args = _delegate_filter(q)
    total = await conn.fetchval(f"SELECT count(*) FROM delegates d WHERE {cond}", *args)
    n = len(args)
    # The group is looked up for the page's rows only, not for every delegate counted.
    rows = await conn.fetch(
        f"""SELECT {_DELEGATE_COLUMNS}, g.group_id FROM (
                SELECT * FROM delegates d WHERE {cond} ORDER BY d.delegate_id LIMIT ${n + 1} OFFSET ${n + 2}) d
            LEFT JOIN LATERAL (
                SELECT m.group_id FROM delegate_group_members m WHERE m.delegate_id = d.delegate_id
                  AND (${n + 3}::int IS NULL OR m.year = ${n + 3}) AND (${n + 4}::text IS NULL OR m.group_id = ${n + 4})
                ORDER BY m.year DESC, m.group_id LIMIT 1) g ON true
            ORDER BY d.delegate_id""", *args, q.limit, q.offset, q.year, q.group_id)
    after = q.offset + len(rows)
    return {"items": [dict(r) for r in rows], "total": total, "limit": q.limit, "offset": q.offset,
            "next_offset": after if after < total else None}


async def get_delegate(conn: asyncpg.Connection, q: GetDelegate) -> dict[str, Any]:
    """One delegate with their groups (by year) and contact duties."""
    row = await conn.fetchrow(f"SELECT {_DELEGATE_COLUMNS} FROM delegates d WHERE d.delegate_id = $1", q.delegate_id)
    if row is None:
        raise NotFound(f"未找到代表 {q.delegate_id} / delegate not found", {"delegate_id": q.delegate_id})
    groups = await conn.fetch(
        """SELECT m.year, m.group_id, g.name, coalesce(g.leader_id = m.delegate_id, false) AS is_leader
           FROM delegate_group_members m JOIN delegate_groups g USING (group_id)
           WHERE m.delegate_id = $1 ORDER BY m.year DESC""", q.delegate_id)
    duties = await conn.fetch("SELECT project_id, year, override_reason FROM delegate_contact_duties "
                              "WHERE delegate_id = $1 ORDER BY year DESC, project_id", q.delegate_id)
    return {**dict(row), "groups": [dict(g) for g in groups], "contact_duties": [dict(d) for d in duties]}


# Member ids one answer may hold when several groups are listed: about 20 bytes each, so the answer
# stays far below NATS's 1 MiB max payload whatever the number of groups; one group is paged instead.
MAX_MEMBER_IDS = 20_000


async def list_groups(conn: asyncpg.Connection, q: ListGroups) -> dict[str, Any]:
    """Groups (of a year, or one), with member counts and, when asked, a page of each group's member ids."""
    where = "($1::int IS NULL OR g.year = $1) AND ($2::text IS NULL OR g.group_id = $2)"
    if q.members and q.group_id is None:
        groups = await conn.fetchval(f"SELECT count(*) FROM delegate_groups g WHERE {where}", q.year, q.group_id)
        if groups * q.members > MAX_MEMBER_IDS:
            raise ValidationFailed(
                f"成员编号过多（{groups} 个小组 × {q.members}），请指定代表小组分页查询或减少 members / "
                f"too many member ids ({groups} groups × {q.members}): ask for one group_id and page, or fewer",
                [{"field": "members", "message": f"多个小组时每组最多 {MAX_MEMBER_IDS // max(groups, 1)} 个 / "
                                                 f"at most {MAX_MEMBER_IDS // max(groups, 1)} per group here"}])
    rows = await conn.fetch(
        # Each group's page of members read in order from the primary key (no join, no sort of every membership).
        f"""SELECT g.group_id, g.name, g.year, g.kind, g.township, g.location, g.leader_id, g.member_count,
                   ARRAY(SELECT m.delegate_id FROM delegate_group_members m WHERE m.group_id = g.group_id
                         ORDER BY m.delegate_id LIMIT $3 OFFSET $4) AS members
            FROM delegate_groups g WHERE {where}
            ORDER BY g.year DESC, g.group_id""", q.year, q.group_id, q.members, q.offset)
    after = q.offset + q.members
    items = [{**dict(r), "members": list(r["members"])} if q.members else
             {k: v for k, v in dict(r).items() if k != "members"} for r in rows]
    return {"items": items, "members": q.members, "offset": q.offset,
            "next_offset": after if q.members and any(r["member_count"] > after for r in rows) else None}


async def list_supervision(conn: asyncpg.Connection, q: ListSupervision) -> dict[str, Any]:
    """One page of supervision assignments (of a year or one project) with their contact delegates."""
    chosen = "($1::int IS NULL OR year = $1) AND ($2::text IS NULL OR project_id = $2)"
    # The page is chosen first, so only its projects' names and contact duties are read.
    rows = await conn.fetch(
        f"""SELECT s.project_id, s.year, s.leader_id, l.name AS leader_name, s.committee_id,
                   c.name AS committee_name, s.group_id, g.name AS group_name, s.reason, s.assigned_at, s.changes,
                   ARRAY(SELECT d.delegate_id FROM delegate_contact_duties d WHERE d.project_id = s.project_id
                         ORDER BY d.delegate_id) AS contact_delegates
            FROM (SELECT * FROM delegate_supervision WHERE {chosen}
                  ORDER BY year DESC, project_id LIMIT $3 OFFSET $4) s
            LEFT JOIN delegate_leaders l USING (leader_id)
            LEFT JOIN delegate_committees c USING (committee_id)
            LEFT JOIN delegate_groups g USING (group_id)
            ORDER BY s.year DESC, s.project_id""",
        q.year, q.project_id, q.limit, q.offset)
    total = await conn.fetchval(f"SELECT count(*) FROM delegate_supervision WHERE {chosen}", q.year, q.project_id)
    after = q.offset + len(rows)
    return {"items": [{**dict(r), "contact_delegates": list(r["contact_delegates"])} for r in rows],
            "total": total, "limit": q.limit, "offset": q.offset, "next_offset": after if after < total else None}


async def list_leaders(conn: asyncpg.Connection, q: ListLeaders) -> dict[str, Any]:
    """The standing committee's leaders, by id."""
    rows = await conn.fetch("SELECT leader_id, name, title, committee_ids FROM delegate_leaders ORDER BY leader_id")
    return {"items": [{**dict(r), "committee_ids": list(r["committee_ids"])} for r in rows]}


async def list_committees(conn: asyncpg.Connection, q: ListCommittees) -> dict[str, Any]:
    """The special committees, by id."""
    rows = await conn.fetch("SELECT committee_id, name, categories FROM delegate_committees ORDER BY committee_id")
    return {"items": [{**dict(r), "categories": list(r["categories"])} for r in rows]}


QUERIES = {
    ListDelegates: list_delegates,
    GetDelegate: get_delegate,
    ListGroups: list_groups,
    ListSupervision: list_supervision,
    ListLeaders: list_leaders,
    ListCommittees: list_committees,
}
