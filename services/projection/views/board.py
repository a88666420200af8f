"""Boards: the city board (from the supervision view's tables), group and department boards.

The bd_ tables hold what the supervision view does not: group membership, attendance,
and which departments each feedback item was forwarded to and whether each has answered.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from services.projection import board_query
from services.projection.supervision_query import city_board
from shared.contracts import activities as act
from shared.contracts import delegates as dlg
from shared.contracts import feedback as fb
from shared.contracts import projects as prj
from shared.contracts.base import EventEnvelope
from shared.contracts.projection import CityBoard, DepartmentBoard, GroupBoard
from shared.readmodel import ReadModel
from shared.timeutil import local_date

VIEW = "board"

model = ReadModel(
    name="board",
    ddl="""
    CREATE TABLE bd_departments (code text PRIMARY KEY, name text NOT NULL);
    CREATE TABLE bd_groups (group_id text PRIMARY KEY, year integer NOT NULL, name text NOT NULL,
                            kind text NOT NULL, township text NOT NULL);
    CREATE TABLE bd_members (group_id text NOT NULL, delegate_id text NOT NULL, leader boolean NOT NULL DEFAULT false,
                             PRIMARY KEY (group_id, delegate_id));
    CREATE TABLE bd_attendance (activity_id text NOT NULL, delegate_id text NOT NULL, status text NOT NULL,
                                PRIMARY KEY (activity_id, delegate_id));
    CREATE TABLE bd_feedback (feedback_id text PRIMARY KEY, year integer NOT NULL, project_id text,
                              category text NOT NULL, content text NOT NULL, raised_on date NOT NULL,
                              forwarded_on date, due_on date, answered_on date);
    CREATE TABLE bd_feedback_depts (feedback_id text NOT NULL, dept_code text NOT NULL, role text NOT NULL,
                                    answered boolean NOT NULL DEFAULT false, PRIMARY KEY (feedback_id, dept_code));
    CREATE INDEX bd_feedback_depts_dept ON bd_feedback_depts (dept_code);
    """,
)


@model.on(prj.DepartmentRegistered)
async def department(conn: asyncpg.Connection, env: EventEnvelope, e: prj.DepartmentRegistered) -> None:
    """Department names."""
    await conn.execute("""INSERT INTO bd_departments (code, name) VALUES ($1, $2)
                          ON CONFLICT (code) DO UPDATE SET name = excluded.name""", e.code, e.name)


@model.on(dlg.GroupFormed)
async def group_formed(conn: asyncpg.Connection, env: EventEnvelope, e: dlg.GroupFormed) -> None:
    """A group of a year."""
    await conn.execute("""INSERT INTO bd_groups (group_id, year, name, kind, township) VALUES ($1, $2, $3, $4, $5)""",
                       e.group_id, e.year, e.name, e.kind, e.township)


@model.on(dlg.GroupMemberJoined)
async def member_joined(conn: asyncpg.Connection, env: EventEnvelope, e: dlg.GroupMemberJoined) -> None:
    """A member."""
    await conn.execute("INSERT INTO bd_members (group_id, delegate_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                       e.group_id, e.delegate_id)


@model.on(dlg.GroupMemberLeft)
async def member_left(conn: asyncpg.Connection, env: EventEnvelope, e: dlg.GroupMemberLeft) -> None:
    """No longer a member."""
    await conn.execute("DELETE FROM bd_members WHERE group_id = $1 AND delegate_id = $2", e.group_id, e.delegate_id)


@model.on(dlg.GroupLeaderAppointed)
async def leader_appointed(conn: asyncpg.Connection, env: EventEnvelope, e: dlg.GroupLeaderAppointed) -> None:
    """The group's leader (组长); one at a time."""
    await conn.execute("UPDATE bd_members SET leader = (delegate_id = $2) WHERE group_id = $1",
                       e.group_id, e.delegate_id)


@model.on(act.AttendanceRecorded)
@model.on(act.AttendanceCorrected)
async def attendance(conn: asyncpg.Connection, env: EventEnvelope, e: Any) -> None:
    """Present / absent / excused; a correction replaces the status."""
    await conn.execute("""INSERT INTO bd_attendance (activity_id, delegate_id, status) VALUES ($1, $2, $3)
                          ON CONFLICT (activity_id, delegate_id) DO UPDATE SET status = excluded.status""",
                       e.activity_id, e.delegate_id, e.status)


@model.on(fb.FeedbackSubmitted)
async def feedback_submitted(conn: asyncpg.Connection, env: EventEnvelope, e: fb.FeedbackSubmitted) -> None:
    """A new feedback item (briefings count new ones by the day raised)."""
    await conn.execute("""INSERT INTO bd_feedback (feedback_id, year, project_id, category, content, raised_on)
                          VALUES ($1, $2, $3, $4, $5, $6)""",
                       e.feedback_id, e.year, e.project_id, e.category, e.content, e.raised_on)


async def _forward(conn: asyncpg.Connection, feedback_id: str, main: str, co: list[str], on: Any, due: Any) -> None:
    # Each round starts afresh: the departments of this round, none answered yet.
    await conn.execute("UPDATE bd_feedback SET forwarded_on = $2, due_on = $3, answered_on = NULL "
                       "WHERE feedback_id = $1", feedback_id, on, due)
    await conn.execute("DELETE FROM bd_feedback_depts WHERE feedback_id = $1", feedback_id)
    await conn.execute("""INSERT INTO bd_feedback_depts (feedback_id, dept_code, role)
                          SELECT $1, $2, 'main' UNION SELECT $1, unnest($3::text[]), 'co'
                          ON CONFLICT DO NOTHING""", feedback_id, main, [c for c in co if c != main])


@model.on(fb.FeedbackForwarded)
async def forwarded(conn: asyncpg.Connection, env: EventEnvelope, e: fb.FeedbackForwarded) -> None:
    """Forwarded to a main department and co-departments with a due date."""
    await _forward(conn, e.feedback_id, e.main_department, e.co_departments, e.forwarded_on, e.due_on)


@model.on(fb.FeedbackReopened)
async def reopened(conn: asyncpg.Connection, env: EventEnvelope, e: fb.FeedbackReopened) -> None:
    """A second round: the departments must answer again by the new due date."""
    await _forward(conn, e.feedback_id, e.main_department, e.co_departments, e.reopened_on, e.due_on)


@model.on(fb.FeedbackAnswered)
async def answered(conn: asyncpg.Connection, env: EventEnvelope, e: fb.FeedbackAnswered) -> None:
    """The main department answered."""
    await conn.execute("UPDATE bd_feedback SET answered_on = $2 WHERE feedback_id = $1",
                       e.feedback_id, local_date(e.answered_at))
    await conn.execute("UPDATE bd_feedback_depts SET answered = true WHERE feedback_id = $1 AND dept_code = $2",
                       e.feedback_id, e.dept_code)


@model.on(fb.FeedbackCoReplied)
async def co_replied(conn: asyncpg.Connection, env: EventEnvelope, e: fb.FeedbackCoReplied) -> None:
    """A co-department replied."""
    await conn.execute("UPDATE bd_feedback_depts SET answered = true WHERE feedback_id = $1 AND dept_code = $2",
                       e.feedback_id, e.dept_code)


QUERIES = {CityBoard: city_board, GroupBoard: board_query.group_board, DepartmentBoard: board_query.department_board}
