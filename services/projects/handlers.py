"""Command handlers of the projects service: years, departments, projects, imports and department input."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg
import pydantic

from services.projects import bulk
from services.projects.department import department_decider
from services.projects.execution import reply
from shared.handling import execute, execute_retrying
from services.projects.project import COMMANDS, project_decider
from services.projects.rules import refuse
from services.projects.world import KnownDepartments, load_for_project
from services.projects.year import year_decider
from shared.contracts.base import Command, EventEnvelope
from shared.contracts.projects import (
    SERVICE, AcceptProject, AdjustYearCalendar, CancelProject, CloseYear, CompleteProject, ImportDepartments,
    ImportVotedProjects, OpenYear, ProgressMessage, ProjectCommand, RegisterDepartment, RegisterVotedProject,
    ReportObstacle, ReportProgress, ResolveObstacle, RevisePlan, SubmitPlan, department_stream_id, project_stream_id,
    year_stream_id,
)
from shared.errors import Forbidden
from shared.eventstore.store import EventStore
from shared.ingest import IngestContext
from shared.rpc import RequestContext
from shared.service import ServiceRuntime
from shared.subjects import command_subject
from shared.timeutil import start_of_day

# The business date each project command records (its events' occurred_at, DESIGN.md invariant 7).
BUSINESS_DAY: dict[type[Command], str] = {
    RegisterVotedProject: "voted_on", SubmitPlan: "submitted_on", RevisePlan: "revised_on",
    ReportProgress: "as_of", ReportObstacle: "reported_on", ResolveObstacle: "resolved_on",
    CompleteProject: "completed_on", AcceptProject: "accepted_on", CancelProject: "cancelled_on",
}


async def decide_on_project(store: EventStore, cmd: ProjectCommand | RegisterVotedProject, ctx: RequestContext,
                            conn: asyncpg.Connection | None = None,
                            known: KnownDepartments | None = None, *, retry: bool = True) -> list[EventEnvelope]:
    """Run a project command with the facts of its year (and its units' registration for a registration).

    Everything runs on one connection (the caller's, or one taken from the pool for the whole
    command): the units, the year and project streams (one query), then the append. `retry=False`
    when the caller decides again itself after a lost race (department input: shared.ingest).
    """
    if conn is None:
        async with store.pool.acquire() as own:
            return await decide_on_project(store, cmd, ctx, own, known, retry=retry)
    project_id = project_stream_id(cmd.year, cmd.code)
    units = [cmd.lead_unit, *cmd.co_units] if isinstance(cmd, RegisterVotedProject) else []
    world, project = await load_for_project(store, cmd.year, project_id, units=units, known=known, conn=conn)
    day: date = getattr(cmd, BUSINESS_DAY[type(cmd)])
    run = execute_retrying if retry else execute
    return await run(store, project_decider(world), project_id, cmd, ctx, start_of_day(day), conn, loaded=project)


def progress_command(msg: ProgressMessage, dept_code: str) -> ReportProgress:
    """The report a department's message asks to record; the department is the one it came from."""
    try:
        return ReportProgress(reported_by=dept_code, message_id=msg.message_id,
                              **msg.model_dump(exclude={"message_id"}))
    except pydantic.ValidationError as exc:  # only the subject's department token can be wrong here
        raise refuse(Forbidden, "not_responsible_unit", f"部门代码 {dept_code} 无效", f"invalid department code {dept_code}",
                     "reported_by") from exc


def register(rt: ServiceRuntime) -> None:
    """Attach every command handler and the department-input handler of the service to its runtime."""

    def store() -> EventStore:
        assert rt.store is not None
        return rt.store

    known = KnownDepartments()  # this runtime's: a test's next database starts with none

    def on(cmd_cls: type[Command]) -> Any:
        def attach(handler: Any) -> Any:
            async def handle(cmd: Any, ctx: RequestContext) -> dict[str, Any]:
                return await handler(cmd, ctx)

            handle.__name__ = cmd_cls.name  # one distinct endpoint name per command
            rt.rpc.handle(command_subject(SERVICE, cmd_cls.name), cmd_cls)(handle)
            return handler

        return attach

    async def year_command(cmd: OpenYear | AdjustYearCalendar | CloseYear, ctx: RequestContext) -> dict[str, Any]:
        stream_id = year_stream_id(cmd.year)
        # The year begins when the session ends; adjustments and closing happen when recorded.
        when = start_of_day(cmd.session_end) if isinstance(cmd, OpenYear) else None
        return reply(stream_id, await execute_retrying(store(), year_decider, stream_id, cmd, ctx, when))

    for cmd_cls in (OpenYear, AdjustYearCalendar, CloseYear):
        on(cmd_cls)(year_command)

    @on(RegisterDepartment)
    async def register_department(cmd: RegisterDepartment, ctx: RequestContext) -> dict[str, Any]:
        stream_id = department_stream_id(cmd.code)
        return reply(stream_id, await execute_retrying(store(), department_decider, stream_id, cmd, ctx))

    async def project_command(cmd: ProjectCommand, ctx: RequestContext) -> dict[str, Any]:
        events = await decide_on_project(store(), cmd, ctx, known=known)
        return {"project_id": project_stream_id(cmd.year, cmd.code), **reply(events[0].stream_id, events)}

    for cmd_cls in COMMANDS:
        on(cmd_cls)(project_command)

    @on(ImportDepartments)
    async def import_departments(cmd: ImportDepartments, ctx: RequestContext) -> dict[str, Any]:
        return await bulk.import_departments(store(), cmd, ctx)

    @on(ImportVotedProjects)
    async def import_voted_projects(cmd: ImportVotedProjects, ctx: RequestContext) -> dict[str, Any]:
        return await bulk.import_projects(store(), cmd, ctx)

    @rt.ingest().kind("progress", ProgressMessage)
    async def progress_message(msg: ProgressMessage, ictx: IngestContext,
                               conn: asyncpg.Connection) -> list[EventEnvelope]:
        # The ingest consumer runs this in a savepoint and decides again after a lost race: no savepoint of its own.
        return await decide_on_project(store(), progress_command(msg, ictx.dept_code), ictx.request_context(), conn,
                                       known, retry=False)
