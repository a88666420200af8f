"""Performance records (履职档案): every delegate's participation, scored by a configured rubric.

Each counted item is a row carrying the id of the event behind it, so every number links back
to its evidence (the basis of 述职, 履职考核 and 评选先进).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import asyncpg

from shared.config import get_settings
from shared.contracts import activities as act
from shared.contracts import delegates as dlg
from shared.contracts import feedback as fb
from shared.contracts.base import EventEnvelope
from shared.contracts.projection import GetRecord, RankRecords
from shared.errors import NotFound
from shared.readmodel import ReadModel
from shared.timeutil import local_date

VIEW = "record"

ITEM_LABELS = {
    "present": "出席活动", "excused": "请假", "absent": "缺席", "walk_in": "未受邀参加活动",
    "contact_log": "联系点走访记录", "contact_duty": "承担项目联系责任", "opinion": "提出建议意见",
    "opinion_adopted": "建议被采纳", "evaluation_vote": "参加满意度测评",
}


def _weights(rubric: dict[str, float]) -> str:
    """The rubric as a SQL CASE over the item ($ITEM): numeric literals, items of the record only."""
    whens = []
    for item in ITEM_LABELS:
        weight = float(rubric.get(item, 0.0))
        if not math.isfinite(weight):
            raise ValueError(f"performance_rubric[{item!r}] is not a finite number: {weight!r}")
        if weight:
            whens.append(f"WHEN '{item}' THEN {weight!r}")
    return f"CASE $ITEM {' '.join(whens)} ELSE 0 END" if whens else "0"


# The rubric is part of the DDL (the weights the score trigger adds): a changed rubric changes the
# DDL's fingerprint, so the projection rebuilds the read models and every kept score follows it.
_WEIGHT = _weights(get_settings().performance_rubric)

model = ReadModel(
    name="record",
    ddl="""
    CREATE TABLE pr_delegates (delegate_id text PRIMARY KEY, name text NOT NULL, level text NOT NULL,
                               active boolean NOT NULL DEFAULT true);
    CREATE TABLE pr_members (delegate_id text NOT NULL, year integer NOT NULL, group_id text NOT NULL,
                             PRIMARY KEY (delegate_id, year));
    CREATE TABLE pr_activities (activity_id text PRIMARY KEY, year integer NOT NULL, kind text NOT NULL,
                                title text NOT NULL, starts_on date NOT NULL);
    CREATE TABLE pr_invited (activity_id text NOT NULL, delegate_id text NOT NULL, event_id uuid NOT NULL,
                             PRIMARY KEY (activity_id, delegate_id));
    CREATE TABLE pr_attendance (activity_id text NOT NULL, delegate_id text NOT NULL, status text NOT NULL,
                                invited boolean NOT NULL, event_id uuid NOT NULL,
                                PRIMARY KEY (activity_id, delegate_id));
    -- One row per counted item: (delegate, year, item) and the event that proves it.
    CREATE TABLE pr_items (delegate_id text NOT NULL, year integer NOT NULL, item text NOT NULL,
                           ref text NOT NULL, event_id uuid NOT NULL, PRIMARY KEY (delegate_id, year, item, ref));
    CREATE TABLE pr_feedback (feedback_id text PRIMARY KEY, year integer NOT NULL, raised_by text[] NOT NULL);
    CREATE INDEX pr_members_group ON pr_members (year, group_id);
    CREATE INDEX pr_invited_delegate ON pr_invited (delegate_id);
    CREATE INDEX pr_attendance_delegate ON pr_attendance (delegate_id);
    -- Each delegate's score in a year (the rubric's weight of each item, summed), kept by a trigger on
    -- pr_items so that a rank compares kept scores instead of scoring every delegate on each request.
    -- Only queries read it: appliers' queued writes are ordered by the tables their SQL names
    -- (shared/pipeline.py), which cannot see what a trigger writes. Numeric, so that equal scores
    -- compare equal whatever the order of the additions; a delegate without a row scores 0.
    CREATE TABLE pr_scores (year integer NOT NULL, delegate_id text NOT NULL, score numeric NOT NULL,
                            PRIMARY KEY (year, delegate_id));
    -- Active delegates with a kept score, per year and score, and active delegates in all: a city rank
    -- is 1 + the delegates counted at higher scores, a sum over a year's few distinct scores instead of
    -- a count over every delegate (100,000 in a province). Kept by pr_score_item with the score itself
    -- and by pr_delegate_counted when a delegate comes or goes. Each statement keeps "counts = the
    -- active delegates' kept scores" true, so statements on pr_items and pr_delegates may pass each
    -- other in a batch (shared/pipeline.py) without changing the result.
    CREATE TABLE pr_score_counts (year integer NOT NULL, score numeric NOT NULL, n integer NOT NULL,
                                  PRIMARY KEY (year, score));
    CREATE TABLE pr_active (one boolean PRIMARY KEY DEFAULT true CHECK (one), n integer NOT NULL);
    INSERT INTO pr_active (n) VALUES (0);
    CREATE INDEX pr_scores_delegate ON pr_scores (delegate_id);
    CREATE FUNCTION pr_score_item() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        w numeric;
        d text;
        y integer;
        s numeric;
        inserted boolean := false;
    BEGIN
        IF TG_OP = 'INSERT' THEN
            w := WEIGHT_OF_NEW;
            d := NEW.delegate_id;
            y := NEW.year;
            IF w = 0 THEN
                RETURN NEW;
            END IF;
            -- xmax = 0 on the returned row: it was inserted, not updated (no earlier score to uncount).
            INSERT INTO pr_scores (year, delegate_id, score) VALUES (y, d, w)
            ON CONFLICT (year, delegate_id) DO UPDATE SET score = pr_scores.score + w
            RETURNING score, xmax = 0 INTO s, inserted;
        ELSE
            w := -(WEIGHT_OF_OLD);
            d := OLD.delegate_id;
            y := OLD.year;
            IF w = 0 THEN
                RETURN OLD;
            END IF;
            UPDATE pr_scores SET score = score + w WHERE year = y AND delegate_id = d RETURNING score INTO s;
            IF NOT FOUND THEN
                RETURN OLD;
            END IF;
        END IF;
        IF EXISTS (SELECT 1 FROM pr_delegates WHERE delegate_id = d AND active) THEN
            INSERT INTO pr_score_counts AS c (year, score, n)
            SELECT y, v.score, v.n FROM (VALUES (s, 1), (s - w, -1)) AS v(score, n) WHERE v.n = 1 OR NOT inserted
            ON CONFLICT (year, score) DO UPDATE SET n = c.n + excluded.n;
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER pr_items_score AFTER INSERT OR DELETE ON pr_items FOR EACH ROW EXECUTE FUNCTION pr_score_item();
    CREATE FUNCTION pr_delegate_counted() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        d integer := CASE WHEN NEW.active THEN 1 ELSE -1 END;
    BEGIN
        IF TG_OP = 'INSERT' AND NEW.active OR TG_OP = 'UPDATE' AND OLD.active IS DISTINCT FROM NEW.active THEN
            UPDATE pr_active SET n = n + d;
            -- One kept score per year: a (year, score) at most once in this statement.
            INSERT INTO pr_score_counts AS c (year, score, n)
            SELECT s.year, s.score, d FROM pr_scores s WHERE s.delegate_id = NEW.delegate_id
            ON CONFLICT (year, score) DO UPDATE SET n = c.n + excluded.n;
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER pr_delegates_counted AFTER INSERT OR UPDATE OF active ON pr_delegates
        FOR EACH ROW EXECUTE FUNCTION pr_delegate_counted();
    """.replace("WEIGHT_OF_NEW", _WEIGHT.replace("$ITEM", "NEW.item")).replace(
        "WEIGHT_OF_OLD", _WEIGHT.replace("$ITEM", "OLD.item")),
)


async def _item(conn: asyncpg.Connection, delegate_id: str, year: int, item: str, ref: str, env: EventEnvelope) -> None:
    await conn.execute("""INSERT INTO pr_items (delegate_id, year, item, ref, event_id) VALUES ($1, $2, $3, $4, $5)
                          ON CONFLICT (delegate_id, year, item, ref) DO UPDATE SET event_id = excluded.event_id""",
                       delegate_id, year, item, ref, env.event_id)


@model.on(dlg.DelegateRegistered)
@model.on(dlg.DelegateDetailsChanged)
async def delegate(conn: asyncpg.Connection, env: EventEnvelope, e: Any) -> None:
    """Name and level shown on the record."""
    await conn.execute("""INSERT INTO pr_delegates (delegate_id, name, level) VALUES ($1, $2, $3)
                          ON CONFLICT (delegate_id) DO UPDATE SET name = excluded.name, level = excluded.level""",
                       e.delegate_id, e.name, e.level)


@model.on(dlg.DelegateTermEnded)
async def term_ended(conn: asyncpg.Connection, env: EventEnvelope, e: dlg.DelegateTermEnded) -> None:
    """No longer active (the record stays)."""
    await conn.execute("UPDATE pr_delegates SET active = false WHERE delegate_id = $1", e.delegate_id)


@model.on(dlg.GroupMemberJoined)
async def joined(conn: asyncpg.Connection, env: EventEnvelope, e: dlg.GroupMemberJoined) -> None:
    """The delegate's group for the year (ranks within the group)."""
    await conn.execute("""INSERT INTO pr_members (delegate_id, year, group_id) VALUES ($1, $2, $3)
                          ON CONFLICT (delegate_id, year) DO UPDATE SET group_id = excluded.group_id""",
                       e.delegate_id, e.year, e.group_id)


@model.on(dlg.GroupMemberLeft)
async def left(conn: asyncpg.Connection, env: EventEnvelope, e: dlg.GroupMemberLeft) -> None:
    """Left the group."""
    await conn.execute("DELETE FROM pr_members WHERE delegate_id = $1 AND year = $2 AND group_id = $3",
                       e.delegate_id, e.year, e.group_id)


@model.on(dlg.ContactDutyAssigned)
async def duty(conn: asyncpg.Connection, env: EventEnvelope, e: dlg.ContactDutyAssigned) -> None:
    """Each contact duty counts once per project."""
    for delegate_id in e.delegate_ids:
        await _item(conn, delegate_id, e.year, "contact_duty", e.project_id, env)


@model.on(dlg.ContactDutyReleased)
async def duty_released(conn: asyncpg.Connection, env: EventEnvelope, e: dlg.ContactDutyReleased) -> None:
    """A released duty no longer counts."""
    await conn.execute("DELETE FROM pr_items WHERE delegate_id = $1 AND year = $2 AND item = 'contact_duty' AND ref = $3",
                       e.delegate_id, e.year, e.project_id)


@model.on(act.ActivityScheduled)
async def activity(conn: asyncpg.Connection, env: EventEnvelope, e: act.ActivityScheduled) -> None:
    """Activities, for attendance by kind."""
    await conn.execute("""INSERT INTO pr_activities (activity_id, year, kind, title, starts_on)
                          VALUES ($1, $2, $3, $4, $5)""",
                       e.activity_id, e.year, e.kind, e.title, local_date(e.starts_at))


@model.on(act.ActivityCancelled)
async def activity_cancelled(conn: asyncpg.Connection, env: EventEnvelope, e: act.ActivityCancelled) -> None:
    """A cancelled activity counts for nobody."""
    await conn.execute("DELETE FROM pr_invited WHERE activity_id = $1", e.activity_id)
    await conn.execute("DELETE FROM pr_attendance WHERE activity_id = $1", e.activity_id)
    await conn.execute("DELETE FROM pr_items WHERE ref = $1 AND item IN ('present', 'absent', 'excused', 'walk_in')",
                       e.activity_id)


@model.on(act.DelegatesInvited)
async def invited(conn: asyncpg.Connection, env: EventEnvelope, e: act.DelegatesInvited) -> None:
    """Invitations (the record shows invitations next to attendance)."""
    await conn.execute("""INSERT INTO pr_invited (activity_id, delegate_id, event_id) SELECT $1, unnest($2::text[]), $3
                          ON CONFLICT DO NOTHING""", e.activity_id, e.delegate_ids, env.event_id)


@model.on(act.AttendanceRecorded)
@model.on(act.AttendanceCorrected)
async def attendance(conn: asyncpg.Connection, env: EventEnvelope, e: Any) -> None:
    """Present / absent / excused (a correction replaces the status, the original stays in the timeline)."""
    # One statement, the same for every mark: a batch sends them all in one pipelined group.
    await conn.execute(_ATTENDANCE, e.activity_id, e.delegate_id, e.status, getattr(e, "invited", True), env.event_id)


# The stored `invited` wins over the event's (a correction keeps it); no activity, no mark. The
# item of the new status is kept (its event id updated), the other status items go.
_ATTENDANCE = """
    WITH activity AS (SELECT year FROM pr_activities WHERE activity_id = $1),
         marked AS (
             INSERT INTO pr_attendance (activity_id, delegate_id, status, invited, event_id)
             SELECT $1, $2, $3, $4, $5 FROM activity
             ON CONFLICT (activity_id, delegate_id) DO UPDATE SET status = excluded.status, event_id = excluded.event_id
             RETURNING invited),
         counted AS (SELECT a.year, CASE WHEN m.invited OR $3 <> 'present' THEN $3 ELSE 'walk_in' END AS item
                     FROM activity a, marked m),
         cleared AS (DELETE FROM pr_items WHERE delegate_id = $2 AND ref = $1
                     AND item IN ('present', 'absent', 'excused', 'walk_in') AND item <> (SELECT item FROM counted))
    INSERT INTO pr_items (delegate_id, year, item, ref, event_id)
    SELECT $2, year, item, $1, $5 FROM counted
    ON CONFLICT (delegate_id, year, item, ref) DO UPDATE SET event_id = excluded.event_id"""


@model.on(act.ContactLogged)
async def contact_logged(conn: asyncpg.Connection, env: EventEnvelope, e: act.ContactLogged) -> None:
    """Each contact log counts."""
    await _item(conn, e.delegate_id, e.year, "contact_log", f"{e.contact_point_id}/{e.log_id}", env)


@model.on(fb.FeedbackSubmitted)
async def opinion(conn: asyncpg.Connection, env: EventEnvelope, e: fb.FeedbackSubmitted) -> None:
    """Every delegate who raised an opinion gets it on the record."""
    await conn.execute("INSERT INTO pr_feedback (feedback_id, year, raised_by) VALUES ($1, $2, $3)",
                       e.feedback_id, e.year, e.raised_by)
    for delegate_id in e.raised_by:
        await _item(conn, delegate_id, e.year, "opinion", e.feedback_id, env)


@model.on(fb.FeedbackAnswered)
async def opinion_answered(conn: asyncpg.Connection, env: EventEnvelope, e: fb.FeedbackAnswered) -> None:
    """An adopted (or partly adopted) opinion earns its raisers the bonus."""
    row = await conn.fetchrow("SELECT year, raised_by FROM pr_feedback WHERE feedback_id = $1", e.feedback_id)
    if row is None:
        return
    for delegate_id in row["raised_by"]:
        if e.result in ("adopted", "partly_adopted"):
            await _item(conn, delegate_id, row["year"], "opinion_adopted", e.feedback_id, env)
        else:
            await conn.execute("""DELETE FROM pr_items WHERE delegate_id = $1 AND item = 'opinion_adopted'
                                  AND ref = $2""", delegate_id, e.feedback_id)


@model.on(fb.EvaluationVoteCast)
async def voted(conn: asyncpg.Connection, env: EventEnvelope, e: fb.EvaluationVoteCast) -> None:
    """Taking part in the year-end evaluation (once per project)."""
    await _item(conn, e.delegate_id, e.year, "evaluation_vote", e.project_id, env)


async def get_record(conn: asyncpg.Connection, q: GetRecord) -> dict[str, Any]:
    """One delegate's record: items with rubric weight and evidence, attendance by kind, score, ranks."""
    person = await conn.fetchrow("SELECT * FROM pr_delegates WHERE delegate_id = $1", q.delegate_id)
    if person is None:
        raise NotFound(f"没有该代表 / no delegate {q.delegate_id}", {"delegate_id": q.delegate_id})
    rubric = get_settings().performance_rubric
    rows = await conn.fetch("SELECT item, ref, event_id FROM pr_items WHERE delegate_id = $1 AND year = $2 ORDER BY 1, 2",
                            q.delegate_id, q.year)
    evidence: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        evidence[r["item"]].append({"ref": r["ref"], "event_id": r["event_id"]})
    items = [{"item": item, "label": label, "count": len(evidence[item]), "weight": rubric.get(item, 0.0),
              "points": len(evidence[item]) * rubric.get(item, 0.0), "evidence": evidence[item]}
             for item, label in ITEM_LABELS.items()]
    by_kind: dict[str, dict[str, int]] = defaultdict(lambda: {"invited": 0, "present": 0, "absent": 0, "excused": 0})
    # From the delegate's own invitations and marks (indexed by delegate), not every activity of the year.
    for r in await conn.fetch("""SELECT a.kind, bool_or(x.invited) AS invited, max(x.status) AS status
                                 FROM (SELECT activity_id, true AS invited, NULL AS status FROM pr_invited
                                       WHERE delegate_id = $1
                                       UNION ALL
                                       SELECT activity_id, false, status FROM pr_attendance WHERE delegate_id = $1) x
                                 JOIN pr_activities a USING (activity_id)
                                 WHERE a.year = $2 GROUP BY a.activity_id, a.kind""",
                              q.delegate_id, q.year):
        by_kind[r["kind"]]["invited"] += int(r["invited"])
        if r["status"]:
            by_kind[r["kind"]][r["status"]] += 1
    # Ranks counted in PostgreSQL from the kept scores (competition ranking: 1 + how many score strictly more).
    ranks = await conn.fetchrow(
        """WITH mine AS (SELECT coalesce((SELECT score FROM pr_scores WHERE year = $1 AND delegate_id = $2), 0)
                         AS score),
                member AS (SELECT group_id FROM pr_members WHERE delegate_id = $2 AND year = $1),
                grp AS (SELECT coalesce(s.score, 0) AS score FROM pr_members m
                        LEFT JOIN pr_scores s ON s.year = $1 AND s.delegate_id = m.delegate_id
                        WHERE m.year = $1 AND m.group_id = (SELECT group_id FROM member)),
                kept AS (SELECT coalesce(sum(n), 0) AS scored,
                                coalesce(sum(n) FILTER (WHERE score > (SELECT score FROM mine)), 0) AS above
                         FROM pr_score_counts WHERE year = $1),
                -- Active delegates without a kept score score 0: above anyone below 0 (an absence weighs -1).
                city AS (SELECT a.n AS size,
                                k.above + CASE WHEN (SELECT score FROM mine) < 0 THEN a.n - k.scored ELSE 0 END AS above
                         FROM pr_active a, kept k)
           SELECT (SELECT score FROM mine) AS score, (SELECT group_id FROM member) AS group_id,
                  (SELECT count(*) FROM grp) AS group_size,
                  (SELECT count(*) FROM grp WHERE score > (SELECT score FROM mine)) + 1 AS rank_group,
                  (SELECT size FROM city) AS city_size, (SELECT above FROM city) + 1 AS rank_city""",
        q.year, q.delegate_id)
    group_id = ranks["group_id"]
    return {
        "delegate_id": q.delegate_id, "name": person["name"], "level": person["level"], "active": person["active"],
        "year": q.year, "group_id": group_id, "items": items, "attendance_by_kind": dict(by_kind),
        "score": round(float(ranks["score"]), 1), "rubric": rubric,
        "rank_group": ranks["rank_group"] if group_id else None, "group_size": ranks["group_size"],
        "rank_city": ranks["rank_city"] if person["active"] else None, "city_size": ranks["city_size"],
    }


# The city's first `limit` by score when that many active delegates score above 0: a prefix of the
# whole order (everyone scoring more is in it), so ranks taken within it are the city's ranks, and
# no delegate without a kept score (0) can be in it. A top-N sort of the kept scores, not a window
# over every delegate (100,000 in a province).
_CITY_TOP = """
    WITH top AS (SELECT s.delegate_id, d.name, s.score FROM pr_scores s JOIN pr_delegates d USING (delegate_id)
                 WHERE s.year = $1 AND s.score > 0 AND d.active ORDER BY s.score DESC, s.delegate_id LIMIT $2)
    SELECT *, rank() OVER (ORDER BY score DESC) AS rank, (SELECT n FROM pr_active) AS total
    FROM top ORDER BY score DESC, delegate_id"""


async def rank_records(conn: asyncpg.Connection, q: RankRecords) -> dict[str, Any]:
    """Delegates of a group (or the city) by score, with rank: ranked and cut to `limit` in PostgreSQL."""
    if q.group_id is None:
        rows = await conn.fetch(_CITY_TOP, q.year, q.limit)
        if len(rows) == q.limit:
            return _ranking(q, rows)
    chosen = ("""SELECT d.delegate_id, d.name FROM pr_members m JOIN pr_delegates d USING (delegate_id)
                 WHERE m.year = $1 AND m.group_id = $2""" if q.group_id else
              "SELECT delegate_id, name FROM pr_delegates WHERE active AND $2::text IS NULL")
    # Ordered by score, then id: the order of (rank, id), so one sort serves the window and the page.
    rows = await conn.fetch(
        f"""WITH who AS ({chosen}),
                 ranked AS (SELECT w.delegate_id, w.name, coalesce(s.score, 0) AS score,
                                   rank() OVER (ORDER BY coalesce(s.score, 0) DESC) AS rank
                            FROM who w LEFT JOIN pr_scores s ON s.year = $1 AND s.delegate_id = w.delegate_id)
            SELECT *, (SELECT count(*) FROM who) AS total FROM ranked ORDER BY score DESC, delegate_id LIMIT $3""",
        q.year, q.group_id, q.limit)
    return _ranking(q, rows)


def _ranking(q: RankRecords, rows: list[asyncpg.Record]) -> dict[str, Any]:
    items = [{"delegate_id": r["delegate_id"], "name": r["name"], "score": round(float(r["score"]), 1),
              "rank": r["rank"]} for r in rows]
    return {"year": q.year, "group_id": q.group_id, "items": items, "total": rows[0]["total"] if rows else 0}


QUERIES = {GetRecord: get_record, RankRecords: rank_records}
