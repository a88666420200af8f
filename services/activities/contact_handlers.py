"""Command handlers of contact points: short functions named after their commands."""

from __future__ import annotations

from typing import Any

from services.activities.contact_point import contact_point_decider
from services.activities.handlers import new_id, references, reply
from services.activities.references import References
from shared.contracts.activities import (
    SERVICE,
    ChangeContactPointDelegates,
    EstablishContactPoint,
    LogContact,
    contact_point_stream_id,
)
from shared.contracts.base import Command, EventEnvelope
from shared.handling import execute_retrying
from shared.rpc import RequestContext
from shared.service import ServiceRuntime
from shared.subjects import command_subject
from shared.timeutil import start_of_day


def register(rt: ServiceRuntime) -> None:
    """Attach every contact-point command handler to the runtime."""

    async def decide(cmd: Command, ctx: RequestContext, refs: References,
                     occurred_at: Any = None) -> list[EventEnvelope]:
        assert rt.store is not None
        stream_id = contact_point_stream_id(cmd.contact_point_id)  # type: ignore[attr-defined]
        # Re-decided on the fresh state when another append (e.g. a simultaneous check-in) won the race.
        return await execute_retrying(rt.store, contact_point_decider(refs), stream_id, cmd, ctx,
                                      occurred_at=occurred_at)

    def handles(cls: type[Command]) -> Any:
        return rt.rpc.handle(command_subject(SERVICE, cls.name), cls)

    @handles(EstablishContactPoint)
    async def establish_contact_point(cmd: EstablishContactPoint, ctx: RequestContext) -> dict[str, Any]:
        cmd = cmd if cmd.contact_point_id else cmd.model_copy(update={"contact_point_id": new_id("cp")})
        refs = await references(rt, project_ids=[cmd.project_id], delegate_ids=cmd.delegate_ids)
        events = await decide(cmd, ctx, refs, start_of_day(cmd.established_on))
        return reply("contact_point_id", cmd.contact_point_id, events)

    @handles(ChangeContactPointDelegates)
    async def change_contact_point_delegates(cmd: ChangeContactPointDelegates, ctx: RequestContext) -> dict[str, Any]:
        events = await decide(cmd, ctx, await references(rt, delegate_ids=cmd.delegate_ids))
        return reply("contact_point_id", cmd.contact_point_id, events)

    @handles(LogContact)
    async def log_contact(cmd: LogContact, ctx: RequestContext) -> dict[str, Any]:
        cmd = cmd if cmd.log_id else cmd.model_copy(update={"log_id": new_id("log")})
        refs = await references(rt, delegate_ids=[cmd.delegate_id])
        events = await decide(cmd, ctx, refs, start_of_day(cmd.contacted_on))
        return {**reply("contact_point_id", cmd.contact_point_id, events), "log_id": cmd.log_id}
