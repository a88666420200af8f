"""Opinions raised at activities become feedback items through the event stream, exactly once."""

from __future__ import annotations

from datetime import timedelta

from shared.contracts.activities import OpinionRaised
from shared.contracts.feedback import feedback_stream_id, opinion_feedback_id
from shared.rpc import RpcClient
from shared.subjects import command_subject, health_subject
from tests.conftest import eventually
from tests.integration.feedback_support import TODAY, feedback, publish  # noqa: F401 (fixture)
from tests.integration.views import Stream


async def test_an_opinion_becomes_one_item_even_when_delivered_twice(feedback, nc):
    activity = Stream("activity-a-2026-07")
    raised = activity.envelope(OpinionRaised(
        activity_id="a-2026-07", opinion_id="o1", year=TODAY.year, project_id=f"project-{TODAY.year}-01",
        category="suggestion", content="建议错峰施工，减少对学生上下学的影响", raised_by=["d001", "d002"], group_id="yjh",
        raised_on=TODAY - timedelta(days=3)), actor="office:李明")
    await publish(nc, [("activities", raised)])
    # the same event again under another message id: JetStream cannot deduplicate it, the copy must
    await publish(nc, [("activities", raised)], msg_id=lambda e: f"again-{e.event_id}")
    fid = opinion_feedback_id("a-2026-07", "o1")

    async def recorded():
        return await feedback.store.load(feedback_stream_id(fid))

    await eventually(recorded)

    async def caught_up() -> bool:  # both deliveries handled by the service's copy
        return (await RpcClient(nc).request(health_subject("feedback"), {})).get("follower_lag") == 0

    await eventually(caught_up)
    [event] = await recorded()
    assert event.body["source"] == "activity" and event.body["raised_by"] == ["d001", "d002"]
    assert event.causation_id == str(raised.event_id) and event.actor == "office:李明"
    assert await feedback.pool.fetchval("SELECT count(*) FROM events WHERE type = 'FeedbackSubmitted'") == 1

    # it follows the same lifecycle as any other item
    reply = await RpcClient(nc).call(command_subject("feedback", "forward_feedback"),
                                     {"feedback_id": fid, "main_department": "jhzjj"})
    assert reply["version"] == 2
