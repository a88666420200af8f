"""Command handlers of the feedback service: short functions named after their commands."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import asyncpg

from services.feedback.copy import known_departments, submission_facts, voter_facts
from services.feedback.evaluation import evaluation_decider
from services.feedback.references import check_departments, check_submission
from services.feedback.state import FeedbackState
from services.feedback.sweeper import DeadlineSweeper
from shared.contracts.base import EventEnvelope
from shared.contracts.feedback import (
    SERVICE,
    CastEvaluationVote,
    ForwardFeedback,
    RateFeedback,
    SubmitFeedback,
    SweepDeadlines,
    evaluation_stream_id,
    feedback_stream_id,
)
from shared.decider import Decider
from shared.eventstore.store import EventStore
from shared.handling import execute_retrying
from shared.rpc import RequestContext
from shared.service import ServiceRuntime
from shared.subjects import command_subject
from shared.timeutil import local_date, start_of_day


def business_time(day: date | None, now: datetime) -> datetime:
    """When something dated `day` happened: now if that is today, else the start of that city day."""
    if day is None or day == local_date(now):
        return now
    return start_of_day(day)


def outcome(stream_id: str, events: list[EventEnvelope], **extra: Any) -> dict[str, Any]:
    """The reply of a command: what was recorded (nothing, when it repeated what is already there)."""
    return {**extra, "stream_id": stream_id, "event_ids": [str(e.event_id) for e in events],
            "version": events[-1].version if events else None}


def register(rt: ServiceRuntime, decider: Decider[FeedbackState], sweeper: DeadlineSweeper) -> None:
    """Attach every command handler of the service to its runtime."""

    def store() -> EventStore:
        assert rt.store is not None, "the service has not started"
        return rt.store

    def pool() -> asyncpg.Pool:
        assert rt.pool is not None, "the service has not started"
        return rt.pool

    @rt.rpc.handle(command_subject(SERVICE, SubmitFeedback.name), SubmitFeedback)
    async def submit_feedback(cmd: SubmitFeedback, ctx: RequestContext) -> dict[str, Any]:
        cmd = cmd if cmd.feedback_id else cmd.model_copy(update={"feedback_id": f"fb-{uuid.uuid4().hex[:12]}"})
        async with pool().acquire() as conn:
            check_submission(cmd, await submission_facts(conn, cmd))
        stream_id = feedback_stream_id(cmd.feedback_id)  # type: ignore[arg-type]
        events = await execute_retrying(store(), decider, stream_id, cmd, ctx,
                                        occurred_at=business_time(cmd.raised_on, ctx.received_at))
        return outcome(stream_id, events, feedback_id=cmd.feedback_id)

    @rt.rpc.handle(command_subject(SERVICE, ForwardFeedback.name), ForwardFeedback)
    async def forward_feedback(cmd: ForwardFeedback, ctx: RequestContext) -> dict[str, Any]:
        async with pool().acquire() as conn:
            check_departments(cmd, await known_departments(conn, [cmd.main_department, *cmd.co_departments]))
        stream_id = feedback_stream_id(cmd.feedback_id)
        events = await execute_retrying(store(), decider, stream_id, cmd, ctx,
                                        occurred_at=business_time(cmd.forwarded_on, ctx.received_at))
        return outcome(stream_id, events, feedback_id=cmd.feedback_id, due_on=events[-1].body["due_on"])

    @rt.rpc.handle(command_subject(SERVICE, RateFeedback.name), RateFeedback)
    async def rate_feedback(cmd: RateFeedback, ctx: RequestContext) -> dict[str, Any]:
        stream_id = feedback_stream_id(cmd.feedback_id)
        events = await execute_retrying(store(), decider, stream_id, cmd, ctx,
                                        occurred_at=business_time(cmd.rated_on, ctx.received_at))
        return outcome(stream_id, events, feedback_id=cmd.feedback_id, status=_status_after(events))

    @rt.rpc.handle(command_subject(SERVICE, SweepDeadlines.name), SweepDeadlines)
    async def sweep_deadlines(cmd: SweepDeadlines, ctx: RequestContext) -> dict[str, Any]:
        return await sweeper.sweep()

    @rt.rpc.handle(command_subject(SERVICE, CastEvaluationVote.name), CastEvaluationVote)
    async def cast_evaluation_vote(cmd: CastEvaluationVote, ctx: RequestContext) -> dict[str, Any]:
        async with pool().acquire() as conn:
            facts = await voter_facts(conn, cmd.project_id, cmd.delegate_id)
        stream_id = evaluation_stream_id(cmd.project_id, cmd.delegate_id)
        events = await execute_retrying(store(), evaluation_decider(facts), stream_id, cmd, ctx,
                                        occurred_at=business_time(cmd.voted_on, ctx.received_at))
        return outcome(stream_id, events, project_id=cmd.project_id, delegate_id=cmd.delegate_id,
                       rating=cmd.rating, changed=bool(events) and events[0].type == "EvaluationVoteChanged")


def _status_after(events: list[EventEnvelope]) -> str:
    return "reopened" if events[-1].type == "FeedbackReopened" else "closed"
