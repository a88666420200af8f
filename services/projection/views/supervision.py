"""The supervision view (监督视图): per project, everything the standing committee follows.

Tables (prefix sv_) are filled from the events of every service; the status, expected
progress, overdue flags and phase are derived at query time for a given day, so the same
tables answer "today" and, rebuilt from history by services/projection/asof.py, any past date.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from services.projection import supervision_query
from shared.contracts import activities as act
from shared.contracts import delegates as dlg
from shared.contracts import feedback as fb
from shared.contracts import projects as prj
from shared.contracts.base import EventEnvelope
from shared.contracts.projection import GetSupervision
from shared.readmodel import ReadModel
from shared.timeutil import local_date

VIEW = "supervision"

model = ReadModel(
    name="supervision",
    ddl="""
    CREATE TABLE sv_years (year integer PRIMARY KEY, calendar jsonb NOT NULL);
    CREATE TABLE sv_projects (
        project_id text PRIMARY KEY, year integer NOT NULL, code text NOT NULL, title text NOT NULL,
        category text NOT NULL, lead_unit text NOT NULL, co_units text[] NOT NULL, townships text[] NOT NULL,
        lifecycle text NOT NULL DEFAULT 'active',
        milestones jsonb NOT NULL DEFAULT '[]', plan_start date, plan_late boolean NOT NULL DEFAULT false,
        target_completion date, done text[] NOT NULL DEFAULT '{}',
        percent double precision, last_report_on date
    );
    CREATE TABLE sv_obstacles (
        project_id text NOT NULL, obstacle_id text NOT NULL, kind text NOT NULL, description text NOT NULL,
        reported_on date NOT NULL, resolved_on date, PRIMARY KEY (project_id, obstacle_id)
    );
    CREATE TABLE sv_names (id text PRIMARY KEY, kind text NOT NULL, name text NOT NULL);
    CREATE TABLE sv_assignment (project_id text PRIMARY KEY, leader_id text, committee_id text, group_id text);
    CREATE TABLE sv_contact_duty (project_id text NOT NULL, delegate_id text NOT NULL,
                                  PRIMARY KEY (project_id, delegate_id));
    CREATE TABLE sv_activities (
        activity_id text PRIMARY KEY, year integer NOT NULL, kind text NOT NULL, title text NOT NULL,
        project_ids text[] NOT NULL, group_ids text[] NOT NULL, starts_on date NOT NULL,
        cancelled boolean NOT NULL DEFAULT false
    );
    CREATE TABLE sv_contact_points (contact_point_id text PRIMARY KEY, project_id text NOT NULL, place text NOT NULL,
                                    established_on date NOT NULL);
    CREATE TABLE sv_feedback (
        feedback_id text PRIMARY KEY, project_id text, year integer NOT NULL, status text NOT NULL,
        due_on date, rating text
    );
    CREATE TABLE sv_evaluation (project_id text NOT NULL, delegate_id text NOT NULL, rating text NOT NULL,
                                PRIMARY KEY (project_id, delegate_id));
    -- Votes counted per project and rating, kept by the vote applier: a board sums no vote rows.
    CREATE TABLE sv_votes (project_id text NOT NULL, rating text NOT NULL, n integer NOT NULL,
                           PRIMARY KEY (project_id, rating));
    -- What the boards and the view look projects up by (supervision_query.projects_on).
    CREATE INDEX sv_projects_year ON sv_projects (year, code);
    -- fastupdate off: rows in a GIN pending list are scanned on every lookup until a vacuum merges them.
    CREATE INDEX sv_activities_projects ON sv_activities USING gin (project_ids) WITH (fastupdate = off);
    CREATE INDEX sv_activities_groups ON sv_activities USING gin (group_ids) WITH (fastupdate = off);
    CREATE INDEX sv_contact_points_project ON sv_contact_points (project_id);
    CREATE INDEX sv_feedback_project ON sv_feedback (project_id);
    """,
)


# --- projects ---------------------------------------------------------------------------------

@model.on(prj.YearOpened)
@model.on(prj.YearCalendarAdjusted)
async def year_calendar(conn: asyncpg.Connection, env: EventEnvelope, e: Any) -> None:
    """The calendar that phases are derived from."""
    await conn.execute("""INSERT INTO sv_years (year, calendar) VALUES ($1, $2)
                          ON CONFLICT (year) DO UPDATE SET calendar = excluded.calendar""",
                       e.year, e.calendar.model_dump(mode="json"))


@model.on(prj.ProjectVoted)
async def project_voted(conn: asyncpg.Connection, env: EventEnvelope, e: prj.ProjectVoted) -> None:
    """A project enters the view."""
    await conn.execute(
        """INSERT INTO sv_projects (project_id, year, code, title, category, lead_unit, co_units, townships)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        e.project_id, e.year, e.code, e.title, e.category, e.lead_unit, e.co_units, e.townships)


async def _plan(conn: asyncpg.Connection, project_id: str, milestones: list[Any], target: Any) -> None:
    await conn.execute("UPDATE sv_projects SET milestones = $2, target_completion = $3 WHERE project_id = $1",
                       project_id, [m.model_dump(mode="json") for m in milestones], target)


@model.on(prj.PlanSubmitted)
async def plan_submitted(conn: asyncpg.Connection, env: EventEnvelope, e: prj.PlanSubmitted) -> None:
    """The plan sets milestones; a late plan is remembered."""
    await _plan(conn, e.project_id, e.milestones, e.target_completion)
    await conn.execute("UPDATE sv_projects SET plan_start = $2, plan_late = $3 WHERE project_id = $1",
                       e.project_id, e.submitted_on, e.late)


@model.on(prj.PlanRevised)
async def plan_revised(conn: asyncpg.Connection, env: EventEnvelope, e: prj.PlanRevised) -> None:
    """A revision replaces the milestones (the old plan stays in the timeline)."""
    await _plan(conn, e.project_id, e.milestones, e.target_completion)


@model.on(prj.ProgressReported)
async def progress_reported(conn: asyncpg.Connection, env: EventEnvelope, e: prj.ProgressReported) -> None:
    """The latest report (by as-of date) gives the percent; completed milestones accumulate."""
    await conn.execute(
        """UPDATE sv_projects SET
               percent = CASE WHEN last_report_on IS NULL OR $2 >= last_report_on THEN $3 ELSE percent END,
               last_report_on = greatest(last_report_on, $2),
               done = ARRAY(SELECT DISTINCT unnest(done || $4::text[]))
           WHERE project_id = $1""",
        e.project_id, e.as_of, e.percent, e.milestones_completed)


@model.on(prj.ObstacleReported)
async def obstacle_reported(conn: asyncpg.Connection, env: EventEnvelope, e: prj.ObstacleReported) -> None:
    """An open obstacle."""
    await conn.execute(
        """INSERT INTO sv_obstacles (project_id, obstacle_id, kind, description, reported_on)
           VALUES ($1, $2, $3, $4, $5)""", e.project_id, e.obstacle_id, e.kind, e.description, e.reported_on)


@model.on(prj.ObstacleResolved)
async def obstacle_resolved(conn: asyncpg.Connection, env: EventEnvelope, e: prj.ObstacleResolved) -> None:
    """The obstacle is closed."""
    await conn.execute("UPDATE sv_obstacles SET resolved_on = $3 WHERE project_id = $1 AND obstacle_id = $2",
                       e.project_id, e.obstacle_id, e.resolved_on)


async def _lifecycle(conn: asyncpg.Connection, project_id: str, lifecycle: str) -> None:
    await conn.execute("UPDATE sv_projects SET lifecycle = $2 WHERE project_id = $1", project_id, lifecycle)


@model.on(prj.ProjectCompleted)
async def completed(conn: asyncpg.Connection, env: EventEnvelope, e: prj.ProjectCompleted) -> None:
    """Works finished."""
    await _lifecycle(conn, e.project_id, "completed")


@model.on(prj.ProjectAccepted)
async def accepted(conn: asyncpg.Connection, env: EventEnvelope, e: prj.ProjectAccepted) -> None:
    """Acceptance passed."""
    await _lifecycle(conn, e.project_id, "accepted")


@model.on(prj.ProjectCancelled)
async def cancelled(conn: asyncpg.Connection, env: EventEnvelope, e: prj.ProjectCancelled) -> None:
    """Cancelled projects stay visible, greyed."""
    await _lifecycle(conn, e.project_id, "cancelled")


# --- delegates --------------------------------------------------------------------------------

async def _name(conn: asyncpg.Connection, id_: str, kind: str, name: str) -> None:
    await conn.execute("""INSERT INTO sv_names (id, kind, name) VALUES ($1, $2, $3)
                          ON CONFLICT (id) DO UPDATE SET name = excluded.name""", id_, kind, name)


@model.on(dlg.DelegateRegistered)
@model.on(dlg.DelegateDetailsChanged)
async def delegate_named(conn: asyncpg.Connection, env: EventEnvelope, e: Any) -> None:
    """Names shown for contact-duty delegates."""
    await _name(conn, e.delegate_id, "delegate", e.name)


@model.on(dlg.GroupFormed)
async def group_named(conn: asyncpg.Connection, env: EventEnvelope, e: dlg.GroupFormed) -> None:
    """Names shown for groups."""
    await _name(conn, e.group_id, "group", e.name)


@model.on(dlg.LeaderRegistered)
async def leader_named(conn: asyncpg.Connection, env: EventEnvelope, e: dlg.LeaderRegistered) -> None:
    """Names shown for leaders."""
    await _name(conn, e.leader_id, "leader", f"{e.name}（{e.title}）")


@model.on(dlg.CommitteeRegistered)
async def committee_named(conn: asyncpg.Connection, env: EventEnvelope, e: dlg.CommitteeRegistered) -> None:
    """Names shown for committees."""
    await _name(conn, e.committee_id, "committee", e.name)


@model.on(dlg.SupervisionAssigned)
async def supervision_assigned(conn: asyncpg.Connection, env: EventEnvelope, e: dlg.SupervisionAssigned) -> None:
    """Leader, committee and group of a project (a change replaces them)."""
    await conn.execute(
        """INSERT INTO sv_assignment (project_id, leader_id, committee_id, group_id) VALUES ($1, $2, $3, $4)
           ON CONFLICT (project_id) DO UPDATE SET leader_id = excluded.leader_id,
               committee_id = excluded.committee_id, group_id = excluded.group_id""",
        e.project_id, e.leader_id, e.committee_id, e.group_id)


@model.on(dlg.ContactDutyAssigned)
async def duty_assigned(conn: asyncpg.Connection, env: EventEnvelope, e: dlg.ContactDutyAssigned) -> None:
    """Delegates responsible for following the project."""
    await conn.execute("""INSERT INTO sv_contact_duty (project_id, delegate_id) SELECT $1, unnest($2::text[])
                          ON CONFLICT DO NOTHING""", e.project_id, e.delegate_ids)


@model.on(dlg.ContactDutyReleased)
async def duty_released(conn: asyncpg.Connection, env: EventEnvelope, e: dlg.ContactDutyReleased) -> None:
    """A delegate's duty ended."""
    await conn.execute("DELETE FROM sv_contact_duty WHERE project_id = $1 AND delegate_id = $2",
                       e.project_id, e.delegate_id)


# --- activities -------------------------------------------------------------------------------

@model.on(act.ActivityScheduled)
async def activity_scheduled(conn: asyncpg.Connection, env: EventEnvelope, e: act.ActivityScheduled) -> None:
    """An activity counts for the "four ones" once it has started and was not cancelled."""
    await conn.execute(
        """INSERT INTO sv_activities (activity_id, year, kind, title, project_ids, group_ids, starts_on)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        e.activity_id, e.year, e.kind, e.title, e.project_ids, e.group_ids, local_date(e.starts_at))


@model.on(act.ActivityRescheduled)
async def activity_rescheduled(conn: asyncpg.Connection, env: EventEnvelope, e: act.ActivityRescheduled) -> None:
    """A new date."""
    await conn.execute("UPDATE sv_activities SET starts_on = $2 WHERE activity_id = $1",
                       e.activity_id, local_date(e.starts_at))


@model.on(act.ActivityCancelled)
async def activity_cancelled(conn: asyncpg.Connection, env: EventEnvelope, e: act.ActivityCancelled) -> None:
    """A cancelled activity does not count."""
    await conn.execute("UPDATE sv_activities SET cancelled = true WHERE activity_id = $1", e.activity_id)


@model.on(act.ContactPointEstablished)
async def contact_point(conn: asyncpg.Connection, env: EventEnvelope, e: act.ContactPointEstablished) -> None:
    """A project contact point (项目联系点)."""
    await conn.execute(
        """INSERT INTO sv_contact_points (contact_point_id, project_id, place, established_on)
           VALUES ($1, $2, $3, $4)""", e.contact_point_id, e.project_id, e.place, e.established_on)


# --- feedback ---------------------------------------------------------------------------------

@model.on(fb.FeedbackSubmitted)
async def feedback_submitted(conn: asyncpg.Connection, env: EventEnvelope, e: fb.FeedbackSubmitted) -> None:
    """A new opinion about the project."""
    await conn.execute("""INSERT INTO sv_feedback (feedback_id, project_id, year, status) VALUES ($1, $2, $3, 'submitted')""",
                       e.feedback_id, e.project_id, e.year)


async def _feedback(conn: asyncpg.Connection, feedback_id: str, status: str, **extra: Any) -> None:
    sets = ", ".join(f"{k} = ${i + 3}" for i, k in enumerate(extra))
    await conn.execute(f"UPDATE sv_feedback SET status = $2{', ' + sets if sets else ''} WHERE feedback_id = $1",
                       feedback_id, status, *extra.values())


@model.on(fb.FeedbackForwarded)
async def feedback_forwarded(conn: asyncpg.Connection, env: EventEnvelope, e: fb.FeedbackForwarded) -> None:
    """Forwarded with a due date."""
    await _feedback(conn, e.feedback_id, "forwarded", due_on=e.due_on)


@model.on(fb.FeedbackReceived)
async def feedback_received(conn: asyncpg.Connection, env: EventEnvelope, e: fb.FeedbackReceived) -> None:
    """Acknowledged by the main department."""
    if e.role == "main":
        await _feedback(conn, e.feedback_id, "received")


@model.on(fb.FeedbackAnswered)
async def feedback_answered(conn: asyncpg.Connection, env: EventEnvelope, e: fb.FeedbackAnswered) -> None:
    """Answered."""
    await _feedback(conn, e.feedback_id, "answered")


@model.on(fb.FeedbackRated)
async def feedback_rated(conn: asyncpg.Connection, env: EventEnvelope, e: fb.FeedbackRated) -> None:
    """Rated by who raised it."""
    await conn.execute("UPDATE sv_feedback SET rating = $2 WHERE feedback_id = $1", e.feedback_id, e.rating)


@model.on(fb.FeedbackReopened)
async def feedback_reopened(conn: asyncpg.Connection, env: EventEnvelope, e: fb.FeedbackReopened) -> None:
    """Unsatisfied: a second round with a new due date."""
    await _feedback(conn, e.feedback_id, "reopened", due_on=e.due_on)


@model.on(fb.FeedbackClosed)
async def feedback_closed(conn: asyncpg.Connection, env: EventEnvelope, e: fb.FeedbackClosed) -> None:
    """Closed."""
    await _feedback(conn, e.feedback_id, "closed", rating=e.rating)


@model.on(fb.EvaluationVoteCast)
@model.on(fb.EvaluationVoteChanged)
async def evaluation_vote(conn: asyncpg.Connection, env: EventEnvelope, e: Any) -> None:
    """One vote per delegate per project; a change replaces it (and moves it between the counts)."""
    # One statement: the previous rating is read before the vote is written (a CTE sees the old snapshot).
    await conn.execute(
        """WITH prev AS (SELECT rating FROM sv_evaluation WHERE project_id = $1 AND delegate_id = $2),
                vote AS (INSERT INTO sv_evaluation (project_id, delegate_id, rating) VALUES ($1, $2, $3)
                         ON CONFLICT (project_id, delegate_id) DO UPDATE SET rating = excluded.rating),
                moved AS (UPDATE sv_votes SET n = n - 1 WHERE project_id = $1
                          AND rating = (SELECT rating FROM prev) AND rating <> $3)
           INSERT INTO sv_votes (project_id, rating, n)
           SELECT $1, $3, 1 WHERE NOT EXISTS (SELECT 1 FROM prev WHERE rating = $3)
           ON CONFLICT (project_id, rating) DO UPDATE SET n = sv_votes.n + 1""",
        e.project_id, e.delegate_id, e.rating)


QUERIES = {GetSupervision: supervision_query.get_supervision}
