"""The feedback ledger (huimin.qry.feedback.list / .detail) and evaluation results (.evaluation).

Overdue is never stored: it is derived at query time from the current round's due date and
whether the main department has answered, as of a date (default: today in Jinghong).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from shared.contracts.base import EventEnvelope
from shared.contracts.delegates import DelegateDetailsChanged, DelegateRegistered
from shared.contracts.feedback import (
    RATING_LABELS,
    RESULT_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    EvaluationResults,
    EvaluationVoteCast,
    EvaluationVoteChanged,
    FeedbackAnswered,
    FeedbackClosed,
    FeedbackCoReplied,
    FeedbackForwarded,
    FeedbackOverdue,
    FeedbackRated,
    FeedbackReceived,
    FeedbackReopened,
    FeedbackSubmitted,
    GetFeedback,
    ListFeedback,
    ReminderSent,
)
from shared.contracts.projects import DepartmentRegistered, ProjectVoted
from shared.errors import NotFound
from shared.readmodel import ReadModel
from shared.timeutil import local_date

VIEW = "feedback"
AWAITING_ANSWER = ("forwarded", "received", "reopened")

model = ReadModel(
    name="feedback",
    ddl="""
    CREATE TABLE fb_items (
        feedback_id     text PRIMARY KEY,
        year            integer NOT NULL,
        source          text NOT NULL,
        project_id      text,
        category        text NOT NULL,
        content         text NOT NULL,
        raised_by       text[] NOT NULL,
        group_id        text,
        public_source   text NOT NULL,
        activity_id     text,
        raised_on       date NOT NULL,
        status          text NOT NULL,
        round           integer NOT NULL,          -- 0 until forwarded
        main_department text,
        co_departments  text[] NOT NULL DEFAULT '{}',
        round_started_on date,                     -- forwarded (round 1) or reopened on
        due_on          date,
        received_at     timestamptz,               -- main department's receipt of the current round
        answered_at     timestamptz,               -- main department's answer of the current round
        result          text,
        answered_late   boolean,
        rating          text,                      -- the latest rating
        closed_on       date,
        updated_at      timestamptz NOT NULL
    );
    CREATE INDEX fb_items_year ON fb_items (year, status);
    CREATE INDEX fb_items_ledger ON fb_items (year, raised_on DESC, feedback_id);  -- the ledger's page order
    CREATE INDEX fb_items_due ON fb_items (due_on) WHERE status IN ('forwarded', 'received', 'reopened');
    CREATE TABLE fb_rounds (
        feedback_id     text NOT NULL,
        round           integer NOT NULL,
        main_department text NOT NULL,
        co_departments  text[] NOT NULL,
        started_on      date NOT NULL,
        due_on          date NOT NULL,
        note            text NOT NULL DEFAULT '',
        receipts        jsonb NOT NULL DEFAULT '[]',
        answer          jsonb,
        co_replies      jsonb NOT NULL DEFAULT '[]',
        rated_by        text,
        rating          text,
        rating_comment  text,
        rated_on        date,
        reminded_on     date,
        overdue_notified_on date,
        PRIMARY KEY (feedback_id, round)
    );
    CREATE TABLE fb_eval_votes (
        project_id  text NOT NULL,
        delegate_id text NOT NULL,
        year        integer NOT NULL,
        rating      text NOT NULL,
        voted_on    date NOT NULL,
        changes     integer NOT NULL DEFAULT 0,
        PRIMARY KEY (project_id, delegate_id)
    );
    CREATE INDEX fb_eval_votes_year ON fb_eval_votes (year, rating);
    CREATE TABLE fb_projects (project_id text PRIMARY KEY, year integer NOT NULL, code text NOT NULL,
                              title text NOT NULL, lead_unit text NOT NULL);
    CREATE INDEX fb_projects_year_code ON fb_projects (year, code, project_id);
    CREATE TABLE fb_departments (code text PRIMARY KEY, name text NOT NULL, short_name text NOT NULL);
    CREATE TABLE fb_delegates (delegate_id text PRIMARY KEY, name text NOT NULL);
    """,
)


# --- names for display -------------------------------------------------------------------------


@model.on(ProjectVoted)
async def project_voted(conn: asyncpg.Connection, env: EventEnvelope, e: ProjectVoted) -> None:
    """A project's title, for the ledger and the evaluation results."""
    await conn.execute("""INSERT INTO fb_projects VALUES ($1, $2, $3, $4, $5)
                          ON CONFLICT (project_id) DO UPDATE SET title = excluded.title""",
                       e.project_id, e.year, e.code, e.title, e.lead_unit)


@model.on(DepartmentRegistered)
async def department_registered(conn: asyncpg.Connection, env: EventEnvelope, e: DepartmentRegistered) -> None:
    """A department's name."""
    await conn.execute("""INSERT INTO fb_departments VALUES ($1, $2, $3)
                          ON CONFLICT (code) DO UPDATE SET name = excluded.name, short_name = excluded.short_name""",
                       e.code, e.name, e.short_name)


@model.on(DelegateRegistered)
@model.on(DelegateDetailsChanged)
async def delegate_named(conn: asyncpg.Connection, env: EventEnvelope,
                         e: DelegateRegistered | DelegateDetailsChanged) -> None:
    """A delegate's name (nothing personal)."""
    await conn.execute("""INSERT INTO fb_delegates VALUES ($1, $2)
                          ON CONFLICT (delegate_id) DO UPDATE SET name = excluded.name""", e.delegate_id, e.name)


# --- the ledger --------------------------------------------------------------------------------


@model.on(FeedbackSubmitted)
async def submitted(conn: asyncpg.Connection, env: EventEnvelope, e: FeedbackSubmitted) -> None:
    """A new item in the ledger."""
    await conn.execute(
        """INSERT INTO fb_items (feedback_id, year, source, project_id, category, content, raised_by, group_id,
                                 public_source, activity_id, raised_on, status, round, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'submitted', 0, $12)""",
        e.feedback_id, e.year, e.source, e.project_id, e.category, e.content, e.raised_by, e.group_id,
        e.public_source, e.activity_id, e.raised_on, env.occurred_at)


async def _start_round(conn: asyncpg.Connection, env: EventEnvelope, feedback_id: str, number: int, status: str,
                       main: str, co: list[str], started_on: date, due_on: date, note: str) -> None:
    await conn.execute(
        """UPDATE fb_items SET status = $2, round = $3, main_department = $4, co_departments = $5,
                  round_started_on = $6, due_on = $7, received_at = NULL, answered_at = NULL, result = NULL,
                  answered_late = NULL, updated_at = $8 WHERE feedback_id = $1""",
        feedback_id, status, number, main, co, started_on, due_on, env.occurred_at)
    await conn.execute(
        """INSERT INTO fb_rounds (feedback_id, round, main_department, co_departments, started_on, due_on, note)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""", feedback_id, number, main, co, started_on, due_on, note)


@model.on(FeedbackForwarded)
async def forwarded(conn: asyncpg.Connection, env: EventEnvelope, e: FeedbackForwarded) -> None:
    """Forwarded: round 1 starts with its departments and due date."""
    await _start_round(conn, env, e.feedback_id, e.round, "forwarded", e.main_department, e.co_departments,
                       e.forwarded_on, e.due_on, e.note)


@model.on(FeedbackReopened)
async def reopened(conn: asyncpg.Connection, env: EventEnvelope, e: FeedbackReopened) -> None:
    """Rated 不满意: the next round starts with a new due date."""
    await _start_round(conn, env, e.feedback_id, e.round, "reopened", e.main_department, e.co_departments,
                       e.reopened_on, e.due_on, e.reason)


@model.on(FeedbackReceived)
async def received(conn: asyncpg.Connection, env: EventEnvelope, e: FeedbackReceived) -> None:
    """A department's receipt; the main department's moves the item to received."""
    receipt = {"dept_code": e.dept_code, "role": e.role, "received_at": e.received_at.isoformat(),
               "handler": e.handler, "note": e.note}
    await conn.execute("UPDATE fb_rounds SET receipts = receipts || $3::jsonb WHERE feedback_id = $1 AND round = $2",
                       e.feedback_id, e.round, [receipt])
    if e.role == "main":
        await conn.execute(
            """UPDATE fb_items SET received_at = $2, updated_at = $3,
                      status = CASE WHEN status IN ('forwarded', 'reopened') THEN 'received' ELSE status END
               WHERE feedback_id = $1""", e.feedback_id, e.received_at, env.occurred_at)


def _reply(e: FeedbackAnswered | FeedbackCoReplied) -> dict[str, Any]:
    return {"dept_code": e.dept_code, "answered_at": e.answered_at.isoformat(), "result": e.result,
            "result_label": RESULT_LABELS[e.result], "content": e.content, "planned_actions": e.planned_actions,
            "planned_by": e.planned_by.isoformat() if e.planned_by else None, "handler": e.handler}


@model.on(FeedbackAnswered)
async def answered(conn: asyncpg.Connection, env: EventEnvelope, e: FeedbackAnswered) -> None:
    """The main department's answer of the round."""
    await conn.execute("UPDATE fb_rounds SET answer = $3 WHERE feedback_id = $1 AND round = $2",
                       e.feedback_id, e.round, {**_reply(e), "late": e.late})
    await conn.execute(
        """UPDATE fb_items SET status = 'answered', answered_at = $2, result = $3, answered_late = $4, updated_at = $5
           WHERE feedback_id = $1""", e.feedback_id, e.answered_at, e.result, e.late, env.occurred_at)


@model.on(FeedbackCoReplied)
async def co_replied(conn: asyncpg.Connection, env: EventEnvelope, e: FeedbackCoReplied) -> None:
    """A co-department's contribution to the round."""
    await conn.execute(
        "UPDATE fb_rounds SET co_replies = co_replies || $3::jsonb WHERE feedback_id = $1 AND round = $2",
        e.feedback_id, e.round, [_reply(e)])


@model.on(FeedbackRated)
async def rated(conn: asyncpg.Connection, env: EventEnvelope, e: FeedbackRated) -> None:
    """The rating of the round's answer."""
    await conn.execute(
        """UPDATE fb_rounds SET rated_by = $3, rating = $4, rating_comment = $5, rated_on = $6
           WHERE feedback_id = $1 AND round = $2""",
        e.feedback_id, e.round, e.rated_by, e.rating, e.comment, e.rated_on)
    await conn.execute("UPDATE fb_items SET rating = $2, updated_at = $3 WHERE feedback_id = $1",
                       e.feedback_id, e.rating, env.occurred_at)


@model.on(FeedbackClosed)
async def closed(conn: asyncpg.Connection, env: EventEnvelope, e: FeedbackClosed) -> None:
    """办结."""
    await conn.execute("UPDATE fb_items SET status = 'closed', closed_on = $2, updated_at = $3 WHERE feedback_id = $1",
                       e.feedback_id, e.closed_on, env.occurred_at)


@model.on(ReminderSent)
async def reminded(conn: asyncpg.Connection, env: EventEnvelope, e: ReminderSent) -> None:
    """A reminder went to the departments."""
    await conn.execute("UPDATE fb_rounds SET reminded_on = $3 WHERE feedback_id = $1 AND round = $2",
                       e.feedback_id, e.round, e.as_of)


@model.on(FeedbackOverdue)
async def overdue_notified(conn: asyncpg.Connection, env: EventEnvelope, e: FeedbackOverdue) -> None:
    """The departments were told the item is overdue (the flag itself is derived at query time)."""
    await conn.execute("UPDATE fb_rounds SET overdue_notified_on = $3 WHERE feedback_id = $1 AND round = $2",
                       e.feedback_id, e.round, e.as_of)


# --- evaluation --------------------------------------------------------------------------------


@model.on(EvaluationVoteCast)
@model.on(EvaluationVoteChanged)
async def evaluation_vote(conn: asyncpg.Connection, env: EventEnvelope,
                          e: EvaluationVoteCast | EvaluationVoteChanged) -> None:
    """A delegate's current vote on a project (a change replaces it)."""
    await conn.execute(
        """INSERT INTO fb_eval_votes (project_id, delegate_id, year, rating, voted_on) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (project_id, delegate_id) DO UPDATE
           SET rating = excluded.rating, voted_on = excluded.voted_on, changes = fb_eval_votes.changes + 1""",
        e.project_id, e.delegate_id, e.year, e.rating, e.voted_on)


# --- queries -----------------------------------------------------------------------------------


def today() -> date:
    """Today in Jinghong (the default as-of date of overdue flags)."""
    return local_date(datetime.now(UTC))


def satisfaction_rate(satisfied: int, basically_satisfied: int, total: int) -> float | None:
    """满意率: the share of 满意 and 基本满意 among all votes (None without votes), to 4 decimals."""
    return round((satisfied + basically_satisfied) / total, 4) if total else None


_ITEM_COLUMNS = """i.*, p.title AS project_title, d.short_name AS main_department_name,
    (i.status IN ('forwarded', 'received', 'reopened') AND i.due_on < $1::date) AS overdue,
    CASE WHEN i.status IN ('forwarded', 'received', 'reopened') AND i.due_on < $1::date
         THEN $1::date - i.due_on END AS days_overdue"""
_ITEM_FROM = """fb_items i LEFT JOIN fb_projects p ON p.project_id = i.project_id
    LEFT JOIN fb_departments d ON d.code = i.main_department"""


def _item(row: asyncpg.Record) -> dict[str, Any]:
    item = dict(row)
    item["status_label"] = STATUS_LABELS[item["status"]]
    item["source_label"] = SOURCE_LABELS[item["source"]]
    item["result_label"] = RESULT_LABELS.get(item["result"] or "")
    item["rating_label"] = RATING_LABELS.get(item["rating"] or "")
    return item


async def list_feedback(conn: asyncpg.Connection, q: ListFeedback) -> dict[str, Any]:
    """The ledger, filtered; each item says whether it is overdue as of the date asked (default today)."""
    as_of = q.as_of or today()
    where, args = ["$1::date IS NOT NULL"], [as_of]  # $1 (as of) is used by every statement below

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    for column, value in (("year", q.year), ("status", q.status), ("project_id", q.project_id),
                          ("source", q.source)):
        if value is not None:
            where.append(f"i.{column} = {arg(value)}")
    if q.department is not None:
        p = arg(q.department)
        where.append(f"(i.main_department = {p} OR {p} = ANY(i.co_departments))")
    if q.raised_by is not None:
        where.append(f"{arg(q.raised_by)} = ANY(i.raised_by)")
    if q.overdue is not None:
        overdue = "(i.status IN ('forwarded', 'received', 'reopened') AND i.due_on < $1::date)"
        where.append(overdue if q.overdue else f"NOT coalesce({overdue}, false)")
    cond = " AND ".join(where)
    total = await conn.fetchval(f"SELECT count(*) FROM {_ITEM_FROM} WHERE {cond}", *args)
    rows = await conn.fetch(
        f"""SELECT {_ITEM_COLUMNS} FROM {_ITEM_FROM} WHERE {cond}
            ORDER BY i.raised_on DESC, i.feedback_id LIMIT {arg(q.limit)} OFFSET {arg(q.offset)}""", *args)
    return {"as_of": as_of, "items": [_item(r) for r in rows], "total": total}


async def get_feedback(conn: asyncpg.Connection, q: GetFeedback) -> dict[str, Any]:
    """One item with its rounds (departments, due date, receipts, answers, rating, notices) and names."""
    as_of = q.as_of or today()
    row = await conn.fetchrow(f"SELECT {_ITEM_COLUMNS} FROM {_ITEM_FROM} WHERE i.feedback_id = $2", as_of,
                              q.feedback_id)
    if row is None:
        raise NotFound("意见不存在 / no such feedback item", {"feedback_id": q.feedback_id})
    item = _item(row)
    rounds = [dict(r) for r in await conn.fetch(
        "SELECT * FROM fb_rounds WHERE feedback_id = $1 ORDER BY round", q.feedback_id)]
    for r in rounds:
        r.pop("feedback_id")
        r["rating_label"] = RATING_LABELS.get(r["rating"] or "")
    codes = {c for r in rounds for c in (r["main_department"], *r["co_departments"])}
    departments = {r["code"]: r["name"] for r in await conn.fetch(
        "SELECT code, name FROM fb_departments WHERE code = ANY($1::text[])", list(codes))}
    delegates = {r["delegate_id"]: r["name"] for r in await conn.fetch(
        "SELECT delegate_id, name FROM fb_delegates WHERE delegate_id = ANY($1::text[])", item["raised_by"])}
    return {"as_of": as_of, "item": item, "rounds": rounds, "department_names": departments,
            "delegate_names": delegates}


async def evaluation_results(conn: asyncpg.Connection, q: EvaluationResults) -> dict[str, Any]:
    """One page of the year's projects with votes of each rating, total and satisfaction rate; totals over all."""
    # The page's projects are chosen first (by code, from the index) and only their votes are counted;
    # the year's totals come from one aggregate over the votes, whatever the page.
    rows = await conn.fetch(
        """SELECT p.project_id, p.code, p.title, p.lead_unit,
                  count(v.delegate_id) FILTER (WHERE v.rating = 'satisfied') AS satisfied,
                  count(v.delegate_id) FILTER (WHERE v.rating = 'basically_satisfied') AS basically_satisfied,
                  count(v.delegate_id) FILTER (WHERE v.rating = 'unsatisfied') AS unsatisfied,
                  count(v.delegate_id) AS total
           FROM (SELECT * FROM fb_projects WHERE year = $1 AND ($2::text IS NULL OR project_id = $2)
                 ORDER BY code, project_id LIMIT $3 OFFSET $4) p
           LEFT JOIN fb_eval_votes v ON v.project_id = p.project_id
           GROUP BY p.project_id, p.code, p.title, p.lead_unit ORDER BY p.code, p.project_id""",
        q.year, q.project_id, q.limit, q.offset)
    sums = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM fb_projects WHERE year = $1 AND ($2::text IS NULL OR project_id = $2))
                      AS projects,
                  count(*) FILTER (WHERE v.rating = 'satisfied') AS satisfied,
                  count(*) FILTER (WHERE v.rating = 'basically_satisfied') AS basically_satisfied,
                  count(*) FILTER (WHERE v.rating = 'unsatisfied') AS unsatisfied,
                  count(*) AS total
           FROM fb_eval_votes v WHERE v.year = $1 AND ($2::text IS NULL OR v.project_id = $2)""",
        q.year, q.project_id)
    items = [{**dict(r), "rate": satisfaction_rate(r["satisfied"], r["basically_satisfied"], r["total"])}
             for r in rows]
    totals = {k: sums[k] for k in ("satisfied", "basically_satisfied", "unsatisfied", "total")}
    after = q.offset + len(items)
    return {"year": q.year, "items": items, "projects": sums["projects"],
            "totals": {**totals, "rate": satisfaction_rate(totals["satisfied"], totals["basically_satisfied"],
                                                           totals["total"])},
            "limit": q.limit, "offset": q.offset, "next_offset": after if after < sums["projects"] else None}


QUERIES = {ListFeedback: list_feedback, GetFeedback: get_feedback, EvaluationResults: evaluation_results}
