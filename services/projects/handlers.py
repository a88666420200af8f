"""Command handlers of the projects service: short functions named after their commands."""

from __future__ import annotations

from typing import Any

from services.projects.domain import project_decider
from shared.contracts.projects import SERVICE, RegisterVotedProject, project_stream_id
from shared.handling import execute
from shared.rpc import RequestContext
from shared.service import ServiceRuntime
from shared.subjects import command_subject
from shared.timeutil import start_of_day


def register(rt: ServiceRuntime) -> None:
    """Attach every command handler of the service to its runtime."""

    @rt.rpc.handle(command_subject(SERVICE, RegisterVotedProject.name), RegisterVotedProject)
    async def register_voted_project(cmd: RegisterVotedProject, ctx: RequestContext) -> dict[str, Any]:
        stream_id = project_stream_id(cmd.year, cmd.code)
        assert rt.store is not None
        events = await execute(rt.store, project_decider, stream_id, cmd, ctx, occurred_at=start_of_day(cmd.voted_on))
        return {"project_id": stream_id, "event_ids": [str(e.event_id) for e in events], "version": events[-1].version}
