"""Department input on HUIMIN_INGEST: receipts (签收) and replies (答复) of items forwarded to them.

The shared ingest machinery validates each message, answers on `huimin.ingest.result.<dept>`,
recognises duplicates by message_id and keeps rejected input; these handlers turn a valid
message into a command on the item, decided by the same rules as everything else (a department
may only acknowledge or answer items forwarded to it, as main or co-department). Plain `execute`:
the ingest consumer runs each handler in a savepoint and decides again after a lost race.
"""

from __future__ import annotations

from collections.abc import Callable

import asyncpg

from services.feedback.state import FeedbackState
from shared.contracts.base import EventEnvelope
from shared.contracts.feedback import (
    AcknowledgeFeedback,
    AnswerFeedback,
    FeedbackReceipt,
    FeedbackReply,
    feedback_stream_id,
)
from shared.decider import Decider
from shared.eventstore.store import EventStore
from shared.handling import execute
from shared.ingest import IngestConsumer, IngestContext


def register(ingest: IngestConsumer, store: Callable[[], EventStore], decider: Decider[FeedbackState]) -> None:
    """Handle the `receipt` and `reply` kinds of department input."""

    @ingest.kind("receipt", FeedbackReceipt)
    async def receipt(msg: FeedbackReceipt, ictx: IngestContext, conn: asyncpg.Connection) -> list[EventEnvelope]:
        cmd = AcknowledgeFeedback(feedback_id=msg.feedback_id, dept_code=ictx.dept_code, received_at=msg.received_at,
                                  handler=msg.handler, note=msg.note)
        return await execute(store(), decider, feedback_stream_id(msg.feedback_id), cmd, ictx.request_context(),
                             occurred_at=msg.received_at, conn=conn)

    @ingest.kind("reply", FeedbackReply)
    async def reply(msg: FeedbackReply, ictx: IngestContext, conn: asyncpg.Connection) -> list[EventEnvelope]:
        cmd = AnswerFeedback(feedback_id=msg.feedback_id, dept_code=ictx.dept_code,
                             **msg.model_dump(exclude={"message_id", "feedback_id"}))
        return await execute(store(), decider, feedback_stream_id(msg.feedback_id), cmd, ictx.request_context(),
                             occurred_at=msg.answered_at, conn=conn)
