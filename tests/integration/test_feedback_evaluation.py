"""Year-end evaluation through NATS: eligible delegates vote once, may change, others are refused."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from shared.contracts.feedback import evaluation_stream_id
from shared.contracts.projects import PhaseWindow
from shared.rpc import RpcClient
from shared.subjects import command_subject, health_subject
from tests.conftest import eventually
from tests.integration.feedback_support import TODAY, feedback, publish, start_feedback, world  # noqa: F401

VOTE = command_subject("feedback", "cast_evaluation_vote")
PROJECT = f"project-{TODAY.year}-01"


async def test_members_of_the_supervising_group_vote_and_may_change_their_vote(feedback, nc):
    client = RpcClient(nc)
    first = await client.call(VOTE, {"project_id": PROJECT, "delegate_id": "d001", "rating": "satisfied"})
    assert first["changed"] is False and len(first["event_ids"]) == 1
    same = await client.call(VOTE, {"project_id": PROJECT, "delegate_id": "d001", "rating": "satisfied"})
    assert same["event_ids"] == [], "repeating a vote records nothing"
    changed = await client.call(VOTE, {"project_id": PROJECT, "delegate_id": "d001", "rating": "basically_satisfied"})
    assert changed["changed"] is True
    outsider = await client.request(VOTE, {"project_id": PROJECT, "delegate_id": "d003", "rating": "unsatisfied"})
    assert outsider["error"]["code"] == "forbidden"
    unknown = await client.request(VOTE, {"project_id": "project-1999-01", "delegate_id": "d001",
                                          "rating": "satisfied"})
    assert unknown["error"]["code"] == "not_found"
    events = await feedback.store.load(evaluation_stream_id(PROJECT, "d001"))
    assert [e.type for e in events] == ["EvaluationVoteCast", "EvaluationVoteChanged"]


async def test_votes_cast_at_the_same_moment_are_all_recorded(feedback, nc):
    client = RpcClient(nc)
    ratings = ["satisfied", "unsatisfied", "basically_satisfied", "satisfied"]
    replies = await asyncio.gather(*(
        client.call(VOTE, {"project_id": PROJECT, "delegate_id": f"d00{1 + n % 2}", "rating": rating})
        for n, rating in enumerate(ratings)))
    assert all(r["ok"] for r in replies), "a lost race is decided again, not refused"
    for delegate_id in ("d001", "d002"):
        events = await feedback.store.load(evaluation_stream_id(PROJECT, delegate_id))
        assert events[0].type == "EvaluationVoteCast" and {e.body["delegate_id"] for e in events} == {delegate_id}


async def test_a_closed_window_refuses_votes_and_changes(settings, nc):
    closed = PhaseWindow(start=TODAY - timedelta(days=20), end=TODAY - timedelta(days=1))
    rt = await start_feedback(settings, nc)
    client = RpcClient(nc)
    try:
        await publish(nc, world(evaluation=closed, scope="all"))

        async def knows() -> bool:
            reply = await client.request(health_subject("feedback"), {})
            return (reply.get("copy") or {}).get("supervision") == 1

        await eventually(knows)
        reply = await client.request(VOTE, {"project_id": PROJECT, "delegate_id": "d003", "rating": "satisfied"})
        assert reply["error"]["code"] == "conflict" and "测评已于" in reply["error"]["message"]
    finally:
        await rt.stop()
