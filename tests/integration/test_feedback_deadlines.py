"""The deadline sweep through NATS: reminder and overdue notices fire once, across instances and restarts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from shared.contracts.feedback import feedback_stream_id
from shared.rpc import RpcClient
from shared.subjects import command_subject, health_subject
from tests.conftest import eventually
from tests.integration.feedback_support import TODAY, Clock, publish, published_types, start_feedback, world

SWEEP = command_subject("feedback", "sweep_deadlines")


async def notices(nc) -> list[str]:
    """Deadline notices of the item that reached HUIMIN_EVENTS."""
    types = await published_types(nc, feedback_stream_id("fb-due"))
    return [t for t in types if t in ("ReminderSent", "FeedbackOverdue")]


async def test_reminder_and_overdue_fire_once_across_instances_and_restarts(settings, nc):
    settings = settings.model_copy(update={"feedback_sweep_interval_s": 0.1})
    clock = Clock()
    first = await start_feedback(settings, nc, clock)
    second = await start_feedback(settings, nc, clock)  # a second instance: one sweeps, both answer commands
    client = RpcClient(nc)
    try:
        await publish(nc, world())

        async def knows_departments() -> bool:
            reply = await client.request(health_subject("feedback"), {})
            return (reply.get("copy") or {}).get("departments") == 3

        await eventually(knows_departments)
        await client.call(command_subject("feedback", "submit_feedback"), {
            "feedback_id": "fb-due", "year": TODAY.year, "source": "delegate", "category": "进度",
            "content": "工期滞后", "raised_by": ["d002"], "raised_on": TODAY.isoformat()})
        await client.call(command_subject("feedback", "forward_feedback"), {
            "feedback_id": "fb-due", "main_department": "jhzjj", "due_on": (TODAY + timedelta(days=10)).isoformat()})

        clock.on(TODAY + timedelta(days=8))  # the injected clock: two days before the due date
        await eventually(lambda: _equals(notices(nc), ["ReminderSent"]))
        clock.on(TODAY + timedelta(days=11))  # the due date has passed, no answer
        await eventually(lambda: _equals(notices(nc), ["ReminderSent", "FeedbackOverdue"]))

        # more passes, concurrent ones on both instances, then a restart: nothing new
        await asyncio.gather(*(client.call(SWEEP, {}) for _ in range(6)))
        await first.stop()
        third = await start_feedback(settings, nc, clock)
        try:
            reply = await client.call(SWEEP, {})
            assert reply["checked"] == 1 and reply["notices"] == []
            await asyncio.sleep(0.5)  # several periodic passes of the leading instance
        finally:
            await third.stop()
        events = await second.store.load(feedback_stream_id("fb-due"))
        assert [e.type for e in events] == ["FeedbackSubmitted", "FeedbackForwarded", "ReminderSent",
                                            "FeedbackOverdue"]
        overdue = events[-1]
        assert overdue.body["as_of"] == (TODAY + timedelta(days=11)).isoformat()
        assert overdue.occurred_at.date() == TODAY + timedelta(days=10), "overdue since the due date ended"
        assert await notices(nc) == ["ReminderSent", "FeedbackOverdue"]
    finally:
        await second.stop()
        await first.stop()


async def _equals(probe, expected):
    return await probe == expected
