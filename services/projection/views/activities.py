"""The activities view: activities with attendance and opinions, contact points and contact logs.

Queries: huimin.qry.activities.{list,get,contact_points,contact_logs}. Tables are prefixed `act_`
because every view shares the projection schema.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from shared.contracts.activities import (
    ActivityCancelled,
    ActivityRescheduled,
    ActivityScheduled,
    AttendanceCorrected,
    AttendanceRecorded,
    ContactLogged,
    ContactPointDelegatesChanged,
    ContactPointEstablished,
    DelegatesInvited,
    GetActivity,
    ListActivities,
    ListContactLogs,
    ListContactPoints,
    OpinionRaised,
    OutcomeRecorded,
)
from shared.contracts.base import EventEnvelope
from shared.contracts.gateway import Attachment
from shared.contracts.projects import YearCalendarAdjusted
from shared.errors import NotFound
from shared.readmodel import ReadModel
from shared.timeutil import local_date

VIEW = "activities"

model = ReadModel(
    name="activities",
    ddl="""
    CREATE TABLE act_activities (
        activity_id   text PRIMARY KEY,
        year          integer NOT NULL,
        kind          text NOT NULL,
        form          text,
        title         text NOT NULL,
        project_ids   text[] NOT NULL,
        group_ids     text[] NOT NULL,
        organiser     text NOT NULL,
        starts_at     timestamptz NOT NULL,
        ends_at       timestamptz NOT NULL,
        place         text NOT NULL,
        phase         text NOT NULL,
        description   text NOT NULL,
        status        text NOT NULL,
        cancel_reason text,
        minutes       text,
        findings      jsonb,
        report        jsonb,
        contribution  jsonb,
        attachments   jsonb NOT NULL DEFAULT '[]',  -- of the outcome: [{key, size, content_type, sha256, filename}]
        updated_at    timestamptz NOT NULL
    );
    CREATE INDEX act_activities_year ON act_activities (year, starts_at DESC);
    CREATE TABLE act_attendance (
        activity_id       text NOT NULL,
        delegate_id       text NOT NULL,
        invited           boolean NOT NULL,
        status            text NOT NULL,  -- invited (nothing recorded yet) | present | absent | excused
        excuse_reason     text NOT NULL DEFAULT '',
        source            text,
        original_status   text,
        correction_reason text,
        PRIMARY KEY (activity_id, delegate_id)
    );
    CREATE INDEX act_attendance_delegate ON act_attendance (delegate_id);
    CREATE TABLE act_opinions (
        activity_id text NOT NULL,
        opinion_id  text NOT NULL,
        project_id  text,
        category    text NOT NULL,
        content     text NOT NULL,
        raised_by   text[] NOT NULL,
        raised_on   date NOT NULL,
        PRIMARY KEY (activity_id, opinion_id)
    );
    CREATE TABLE act_contact_points (
        contact_point_id text PRIMARY KEY,
        project_id       text NOT NULL,
        year             integer NOT NULL,
        place            text NOT NULL,
        delegate_ids     text[] NOT NULL,
        established_on   date NOT NULL,
        note             text NOT NULL
    );
    CREATE TABLE act_contact_logs (
        contact_point_id text NOT NULL,
        log_id           text NOT NULL,
        project_id       text NOT NULL,
        year             integer NOT NULL,
        delegate_id      text NOT NULL,
        contacted_on     date NOT NULL,
        progress         text NOT NULL,
        difficulties     text NOT NULL,
        public_response  text NOT NULL,
        demands          text NOT NULL,
        help_given       text[] NOT NULL,
        help_note        text NOT NULL,
        attachments      jsonb NOT NULL DEFAULT '[]',
        PRIMARY KEY (contact_point_id, log_id)
    );
    CREATE INDEX act_contact_logs_project ON act_contact_logs (project_id, contacted_on DESC);
    CREATE INDEX act_contact_logs_year ON act_contact_logs (year, contacted_on DESC, contact_point_id, log_id);
    CREATE INDEX act_contact_logs_delegate ON act_contact_logs (delegate_id, contacted_on DESC);
    -- Logs per contact point (and the project and year they were logged for), kept by the ContactLogged
    -- applier so lists count them from a row per point instead of every log.
    CREATE TABLE act_contact_log_counts (
        contact_point_id text NOT NULL,
        project_id       text NOT NULL,
        year             integer NOT NULL,
        logs             integer NOT NULL,
        last_contact_on  date NOT NULL,
        PRIMARY KEY (contact_point_id, project_id, year)
    );
    CREATE INDEX act_contact_log_counts_year ON act_contact_log_counts (year, project_id);
    """,
)


@model.on(ActivityScheduled)
async def activity_scheduled(conn: asyncpg.Connection, env: EventEnvelope, e: ActivityScheduled) -> None:
    """A scheduled activity enters the list."""
    await conn.execute(
        """INSERT INTO act_activities (activity_id, year, kind, form, title, project_ids, group_ids, organiser,
                                       starts_at, ends_at, place, phase, description, status, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'scheduled', $14)""",
        e.activity_id, e.year, e.kind, e.form, e.title, e.project_ids, e.group_ids, e.organiser, e.starts_at,
        e.ends_at, e.place, e.phase, e.description, env.recorded_at,
    )


@model.on(ActivityRescheduled)
async def activity_rescheduled(conn: asyncpg.Connection, env: EventEnvelope, e: ActivityRescheduled) -> None:
    """The activity's new time, place and phase."""
    await conn.execute(
        "UPDATE act_activities SET starts_at = $2, ends_at = $3, place = $4, phase = $5, updated_at = $6 "
        "WHERE activity_id = $1", e.activity_id, e.starts_at, e.ends_at, e.place, e.phase, env.recorded_at)


@model.on(ActivityCancelled)
async def activity_cancelled(conn: asyncpg.Connection, env: EventEnvelope, e: ActivityCancelled) -> None:
    """The activity is shown as cancelled, with the reason."""
    await conn.execute("UPDATE act_activities SET status = 'cancelled', cancel_reason = $2, updated_at = $3 "
                       "WHERE activity_id = $1", e.activity_id, e.reason, env.recorded_at)


@model.on(YearCalendarAdjusted)
async def calendar_adjusted(conn: asyncpg.Connection, env: EventEnvelope, e: YearCalendarAdjusted) -> None:
    """Phases are derived from the calendar: follow its changes."""
    rows = await conn.fetch("SELECT activity_id, starts_at FROM act_activities WHERE year = $1", e.year)
    for r in rows:
        await conn.execute("UPDATE act_activities SET phase = $2 WHERE activity_id = $1", r["activity_id"],
                           e.calendar.phase_of(local_date(r["starts_at"])))


@model.on(DelegatesInvited)
async def delegates_invited(conn: asyncpg.Connection, env: EventEnvelope, e: DelegatesInvited) -> None:
    """Invitees appear with nothing recorded yet."""
    await conn.execute(
        """INSERT INTO act_attendance (activity_id, delegate_id, invited, status)
           SELECT $1, d, true, 'invited' FROM unnest($2::text[]) AS d ON CONFLICT DO NOTHING""",
        e.activity_id, e.delegate_ids,
    )


@model.on(AttendanceRecorded)
async def attendance_recorded(conn: asyncpg.Connection, env: EventEnvelope, e: AttendanceRecorded) -> None:
    """An invitee's (or walk-in's) attendance as first recorded."""
    await conn.execute(
        """INSERT INTO act_attendance (activity_id, delegate_id, invited, status, excuse_reason, source,
                                       original_status)
           VALUES ($1, $2, $3, $4, $5, $6, $4)
           ON CONFLICT (activity_id, delegate_id) DO UPDATE SET status = excluded.status,
               excuse_reason = excluded.excuse_reason, source = excluded.source, original_status = excluded.status""",
        e.activity_id, e.delegate_id, e.invited, e.status, e.excuse_reason, e.source,
    )


@model.on(AttendanceCorrected)
async def attendance_corrected(conn: asyncpg.Connection, env: EventEnvelope, e: AttendanceCorrected) -> None:
    """The corrected status; the first recorded one stays visible."""
    await conn.execute(
        "UPDATE act_attendance SET status = $3, excuse_reason = $4, correction_reason = $5 "
        "WHERE activity_id = $1 AND delegate_id = $2",
        e.activity_id, e.delegate_id, e.status, e.excuse_reason, e.reason,
    )


def _files(attachments: list[Attachment]) -> list[dict[str, Any]]:
    """Attachments as kept and answered: [{key, size, content_type, sha256, filename}]."""
    return [a.model_dump(mode="json") for a in attachments]


def _json(part: Any) -> Any:
    return part.model_dump(mode="json") if part is not None else None


@model.on(OutcomeRecorded)
async def outcome_recorded(conn: asyncpg.Connection, env: EventEnvelope, e: OutcomeRecorded) -> None:
    """Minutes, findings, report or contribution of the activity."""
    await conn.execute(
        "UPDATE act_activities SET minutes = $2, findings = $3, report = $4, contribution = $5, attachments = $6, "
        "updated_at = $7 WHERE activity_id = $1",
        e.activity_id, e.minutes, e.findings, _json(e.report), _json(e.contribution),
        _files(e.attachments), env.recorded_at,
    )


@model.on(OpinionRaised)
async def opinion_raised(conn: asyncpg.Connection, env: EventEnvelope, e: OpinionRaised) -> None:
    """An opinion raised at the activity."""
    await conn.execute(
        """INSERT INTO act_opinions (activity_id, opinion_id, project_id, category, content, raised_by, raised_on)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
        e.activity_id, e.opinion_id, e.project_id, e.category, e.content, e.raised_by, e.raised_on,
    )


@model.on(ContactPointEstablished)
async def contact_point_established(conn: asyncpg.Connection, env: EventEnvelope, e: ContactPointEstablished) -> None:
    """A project's contact point."""
    await conn.execute(
        """INSERT INTO act_contact_points (contact_point_id, project_id, year, place, delegate_ids, established_on,
                                           note)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        e.contact_point_id, e.project_id, e.year, e.place, e.delegate_ids, e.established_on, e.note,
    )


@model.on(ContactPointDelegatesChanged)
async def contact_point_delegates_changed(conn: asyncpg.Connection, env: EventEnvelope,
                                          e: ContactPointDelegatesChanged) -> None:
    """The contact point's new responsible delegates."""
    await conn.execute("UPDATE act_contact_points SET delegate_ids = $2 WHERE contact_point_id = $1",
                       e.contact_point_id, e.delegate_ids)


@model.on(ContactLogged)
async def contact_logged(conn: asyncpg.Connection, env: EventEnvelope, e: ContactLogged) -> None:
    """A delegate's contact log, counted once for its contact point (one statement: no count without the row)."""
    await conn.execute(
        """WITH logged AS (
               INSERT INTO act_contact_logs (contact_point_id, log_id, project_id, year, delegate_id, contacted_on,
                                             progress, difficulties, public_response, demands, help_given, help_note,
                                             attachments)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
               ON CONFLICT DO NOTHING RETURNING contact_point_id, project_id, year, contacted_on)
           INSERT INTO act_contact_log_counts AS c (contact_point_id, project_id, year, logs, last_contact_on)
           SELECT contact_point_id, project_id, year, 1, contacted_on FROM logged
           ON CONFLICT (contact_point_id, project_id, year) DO UPDATE SET logs = c.logs + 1,
               last_contact_on = greatest(c.last_contact_on, excluded.last_contact_on)""",
        e.contact_point_id, e.log_id, e.project_id, e.year, e.delegate_id, e.contacted_on, e.progress,
        e.difficulties, e.public_response, e.demands, e.help_given, e.help_note, _files(e.attachments),
    )


def _where(filters: list[tuple[str, Any]]) -> tuple[str, list[Any]]:
    """A WHERE clause of `column-condition with $n` filters whose value is set, and its arguments."""
    clauses, args = ["TRUE"], []
    for condition, value in filters:
        if value is not None:
            args.append(value)
            clauses.append(condition.replace("$n", f"${len(args)}"))
    return " AND ".join(clauses), args


_COUNTS = """
    (SELECT count(*) FROM act_attendance t WHERE t.activity_id = a.activity_id AND t.invited) AS invited,
    (SELECT count(*) FROM act_attendance t WHERE t.activity_id = a.activity_id AND t.status = 'present') AS present,
    (SELECT count(*) FROM act_attendance t WHERE t.activity_id = a.activity_id AND t.status = 'absent') AS absent,
    (SELECT count(*) FROM act_attendance t WHERE t.activity_id = a.activity_id AND t.status = 'excused') AS excused,
    (SELECT count(*) FROM act_attendance t WHERE t.activity_id = a.activity_id AND NOT t.invited) AS walk_ins,
    (SELECT count(*) FROM act_opinions o WHERE o.activity_id = a.activity_id) AS opinions"""


async def list_activities(conn: asyncpg.Connection, q: ListActivities) -> dict[str, Any]:
    """Activities matching the filters, newest first, with attendance and opinion counts."""
    cond, args = _where([
        ("a.year = $n", q.year), ("a.kind = $n", q.kind), ("$n = ANY(a.project_ids)", q.project_id),
        ("$n = ANY(a.group_ids)", q.group_id), ("a.status = $n", q.status),
        ("EXISTS (SELECT 1 FROM act_attendance t WHERE t.activity_id = a.activity_id AND t.delegate_id = $n)",
         q.delegate_id),
    ])
    total = await conn.fetchval(f"SELECT count(*) FROM act_activities a WHERE {cond}", *args)
    rows = await conn.fetch(
        f"""SELECT a.activity_id, a.year, a.kind, a.form, a.title, a.project_ids, a.group_ids, a.organiser, a.starts_at,
                   a.ends_at, a.place, a.phase, a.status, a.cancel_reason, a.minutes IS NOT NULL AS outcome_recorded,
                   {_COUNTS}
            FROM act_activities a WHERE {cond}
            ORDER BY a.starts_at DESC, a.activity_id LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}""",
        *args, q.limit, q.offset,
    )
    return {"items": [dict(r) for r in rows], "total": total}


async def get_activity(conn: asyncpg.Connection, q: GetActivity) -> dict[str, Any]:
    """One activity with its attendance, opinions and outcome."""
    row = await conn.fetchrow(f"SELECT a.*, {_COUNTS} FROM act_activities a WHERE a.activity_id = $1", q.activity_id)
    if row is None:
        raise NotFound("活动不存在 / no such activity", {"activity_id": q.activity_id})
    chosen = "activity_id = $1 AND ($2::text IS NULL OR delegate_id = $2)"
    attendance = await conn.fetch(
        f"""SELECT delegate_id, invited, status, excuse_reason, source, original_status, correction_reason
            FROM act_attendance WHERE {chosen} ORDER BY delegate_id LIMIT $3 OFFSET $4""",
        q.activity_id, q.delegate_id, q.limit, q.offset)
    total = await conn.fetchval(f"SELECT count(*) FROM act_attendance WHERE {chosen}", q.activity_id, q.delegate_id)
    opinions = await conn.fetch(
        """SELECT opinion_id, project_id, category, content, raised_by, raised_on FROM act_opinions
           WHERE activity_id = $1 ORDER BY length(opinion_id), opinion_id""", q.activity_id)
    after = q.offset + len(attendance)
    return {"activity": dict(row), "attendance": [dict(r) for r in attendance], "attendance_total": total,
            "attendance_offset": q.offset, "attendance_next_offset": after if after < total else None,
            "opinions": [dict(r) for r in opinions]}


async def list_contact_points(conn: asyncpg.Connection, q: ListContactPoints) -> dict[str, Any]:
    """Contact points with their number of logs and latest contact date (from the kept counts, page rows only)."""
    cond, args = _where([("p.year = $n", q.year), ("p.project_id = $n", q.project_id)])
    total = await conn.fetchval(f"SELECT count(*) FROM act_contact_points p WHERE {cond}", *args)
    rows = await conn.fetch(
        f"""SELECT p.*, coalesce(c.logs, 0) AS logs, c.last_contact_on FROM (
                SELECT * FROM act_contact_points p WHERE {cond}
                ORDER BY p.project_id, p.established_on, p.contact_point_id
                LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}) p
            LEFT JOIN LATERAL (
                SELECT sum(c.logs)::int AS logs, max(c.last_contact_on) AS last_contact_on
                FROM act_contact_log_counts c WHERE c.contact_point_id = p.contact_point_id) c ON true
            ORDER BY p.project_id, p.established_on, p.contact_point_id""",
        *args, q.limit, q.offset,
    )
    return {"items": [dict(r) for r in rows], "total": total}


async def list_contact_logs(conn: asyncpg.Connection, q: ListContactLogs) -> dict[str, Any]:
    """Contact logs matching the filters, newest first."""
    cond, args = _where([("year = $n", q.year), ("project_id = $n", q.project_id),
                         ("contact_point_id = $n", q.contact_point_id), ("delegate_id = $n", q.delegate_id)])
    if q.delegate_id is None:  # summed from a row per contact point, not counted over every log
        total = await conn.fetchval(f"SELECT coalesce(sum(logs), 0)::int FROM act_contact_log_counts WHERE {cond}",
                                    *args)
    else:  # one delegate's logs are few, found by their index
        total = await conn.fetchval(f"SELECT count(*) FROM act_contact_logs WHERE {cond}", *args)
    rows = await conn.fetch(
        f"""SELECT * FROM act_contact_logs WHERE {cond}
            ORDER BY contacted_on DESC, contact_point_id, log_id LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}""",
        *args, q.limit, q.offset,
    )
    return {"items": [dict(r) for r in rows], "total": total}


QUERIES = {
    ListActivities: list_activities,
    GetActivity: get_activity,
    ListContactPoints: list_contact_points,
    ListContactLogs: list_contact_logs,
}
