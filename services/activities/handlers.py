"""Command handlers of activities: short functions named after their commands."""

from __future__ import annotations

import uuid
from typing import Any

from services.activities.activity import activity_decider
from services.activities.attendance import check_in_window
from services.activities.copies import load_references
from services.activities.references import References
from services.activities.state import ActivityState
from shared.contracts.activities import (
    SERVICE,
    CancelActivity,
    CheckIn,
    CorrectAttendance,
    InviteDelegates,
    IssueCheckInCode,
    RaiseOpinions,
    RecordAttendance,
    RecordOutcome,
    RescheduleActivity,
    ScheduleActivity,
    activity_stream_id,
)
from shared.contracts.base import Command, EventEnvelope
from shared.decider import DecisionContext
from shared.handling import execute_retrying
from shared.rpc import RequestContext
from shared.service import ServiceRuntime
from shared.subjects import command_subject


def new_id(prefix: str) -> str:
    """A fresh id for an aggregate created without one."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


async def references(rt: ServiceRuntime, **ids: Any) -> References:
    """Read what a decision needs from the service's copy of other services' data."""
    assert rt.pool is not None
    async with rt.pool.acquire() as conn:
        return await load_references(conn, **ids)


def reply(key: str, value: str, events: list[EventEnvelope]) -> dict[str, Any]:
    """The usual reply of a command: the aggregate's id, the new events and the stream's version."""
    return {key: value, "event_ids": [str(e.event_id) for e in events],
            "version": events[-1].version if events else None}


def at_activity_start(state: ActivityState) -> Any:
    """Business time of what happened at the activity (attendance, outcome): its start."""
    return state.starts_at


def register(rt: ServiceRuntime) -> None:
    """Attach every activity command handler to the runtime."""
    secret = rt.settings.activities_checkin_secret.encode()

    async def decide(cmd: Command, ctx: RequestContext, refs: References,
                     occurred_at: Any = None) -> list[EventEnvelope]:
        assert rt.store is not None
        stream_id = activity_stream_id(cmd.activity_id)  # type: ignore[attr-defined]
        # Re-decided on the fresh state when another append (e.g. a simultaneous check-in) won the race.
        return await execute_retrying(rt.store, activity_decider(refs, secret), stream_id, cmd, ctx,
                                      occurred_at=occurred_at)

    def handles(cls: type[Command]) -> Any:
        return rt.rpc.handle(command_subject(SERVICE, cls.name), cls)

    @handles(ScheduleActivity)
    async def schedule_activity(cmd: ScheduleActivity, ctx: RequestContext) -> dict[str, Any]:
        cmd = cmd if cmd.activity_id else cmd.model_copy(update={"activity_id": new_id("a")})
        refs = await references(rt, project_ids=cmd.project_ids, group_ids=cmd.group_ids)
        events = await decide(cmd, ctx, refs)
        return {**reply("activity_id", cmd.activity_id, events), "phase": events[0].body["phase"]}

    @handles(RescheduleActivity)
    async def reschedule_activity(cmd: RescheduleActivity, ctx: RequestContext) -> dict[str, Any]:
        events = await decide(cmd, ctx, await references(rt))
        return {**reply("activity_id", cmd.activity_id, events), "phase": events[0].body["phase"]}

    @handles(CancelActivity)
    async def cancel_activity(cmd: CancelActivity, ctx: RequestContext) -> dict[str, Any]:
        return reply("activity_id", cmd.activity_id, await decide(cmd, ctx, await references(rt)))

    @handles(InviteDelegates)
    async def invite_delegates(cmd: InviteDelegates, ctx: RequestContext) -> dict[str, Any]:
        refs = await references(rt, group_ids=cmd.group_ids, delegate_ids=cmd.delegate_ids)
        events = await decide(cmd, ctx, refs)
        body = events[0].body if events else {}
        return {**reply("activity_id", cmd.activity_id, events), "invited": body.get("delegate_ids", []),
                "skipped_inactive": body.get("skipped_inactive", [])}

    @handles(RecordAttendance)
    async def record_attendance(cmd: RecordAttendance, ctx: RequestContext) -> dict[str, Any]:
        refs = await references(rt, delegate_ids=[e.delegate_id for e in cmd.entries])
        return reply("activity_id", cmd.activity_id, await decide(cmd, ctx, refs, at_activity_start))

    @handles(CheckIn)
    async def check_in(cmd: CheckIn, ctx: RequestContext) -> dict[str, Any]:
        events = await decide(cmd, ctx, await references(rt, delegate_ids=[cmd.delegate_id]))
        return {**reply("activity_id", cmd.activity_id, events), "walk_in": not events[0].body["invited"]}

    @handles(CorrectAttendance)
    async def correct_attendance(cmd: CorrectAttendance, ctx: RequestContext) -> dict[str, Any]:
        return reply("activity_id", cmd.activity_id, await decide(cmd, ctx, await references(rt)))

    @handles(RecordOutcome)
    async def record_outcome(cmd: RecordOutcome, ctx: RequestContext) -> dict[str, Any]:
        events = await decide(cmd, ctx, await references(rt), at_activity_start)
        return {**reply("activity_id", cmd.activity_id, events), "opinion_ids": _opinion_ids(events)}

    @handles(RaiseOpinions)
    async def raise_opinions(cmd: RaiseOpinions, ctx: RequestContext) -> dict[str, Any]:
        events = await decide(cmd, ctx, await references(rt), at_activity_start)
        return {**reply("activity_id", cmd.activity_id, events), "opinion_ids": _opinion_ids(events)}

    @handles(IssueCheckInCode)
    async def issue_check_in_code(cmd: IssueCheckInCode, ctx: RequestContext) -> dict[str, Any]:
        assert rt.store is not None
        history, _ = await rt.store.load_events(activity_stream_id(cmd.activity_id))
        state = activity_decider(References(), secret).fold(history)
        return check_in_window(state, secret, DecisionContext(now=ctx.received_at, actor=ctx.actor))


def _opinion_ids(events: list[EventEnvelope]) -> list[str]:
    return [e.body["opinion_id"] for e in events if e.type == "OpinionRaised"]
