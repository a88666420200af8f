"""An inspection's outcome with two opinions becomes two feedback items in the feedback service.

The activities service only publishes OpinionRaised; the feedback service follows HUIMIN_EVENTS.
"""

from __future__ import annotations

from services.feedback.main import build as build_feedback
from shared.contracts.activities import SERVICE
from shared.contracts.feedback import feedback_stream_id, opinion_feedback_id
from shared.rpc import RpcClient
from shared.subjects import command_subject
from tests.conftest import eventually
from tests.integration.activities_support import PAST_YEAR, group_id, project_id, start_with_world


async def test_inspection_with_two_opinions_makes_two_feedback_items(settings, nc):
    activities, _ = await start_with_world(settings, nc)
    feedback = build_feedback(settings)
    await feedback.start()
    try:
        client = RpcClient(nc)
        await client.call(command_subject(SERVICE, "schedule_activity"), {
            "activity_id": "insp-fb", "year": PAST_YEAR, "kind": "inspection", "title": "视察饮水安全巩固提升",
            "project_ids": [project_id(PAST_YEAR, "02")], "group_ids": [group_id(PAST_YEAR)], "organiser": "岩温",
            "starts_at": f"{PAST_YEAR}-07-08T09:00:00+08:00", "ends_at": f"{PAST_YEAR}-07-08T12:00:00+08:00",
            "place": "曼景兰村"})
        await client.call(command_subject(SERVICE, "invite_delegates"),
                          {"activity_id": "insp-fb", "group_ids": [group_id(PAST_YEAR)]})
        await client.call(command_subject(SERVICE, "record_outcome"), {
            "activity_id": "insp-fb", "minutes": "听取水务局汇报，查看水厂。", "opinions": [
                {"category": "质量", "content": "水质检测结果应向村民公开", "raised_by": ["d1"]},
                {"category": "进度", "content": "管网入户工程应在雨季前完成", "raised_by": ["d2", "d3"]}]})

        assert feedback.store is not None
        items = [feedback_stream_id(opinion_feedback_id("insp-fb", op)) for op in ("op-1", "op-2")]

        async def both_items() -> list:
            loaded = [await feedback.store.load(item) for item in items]
            return loaded if all(loaded) else []

        first, second = await eventually(both_items)
        assert first[0].type == second[0].type == "FeedbackSubmitted"
        assert first[0].body["content"] == "水质检测结果应向村民公开" and first[0].body["source"] == "activity"
        assert second[0].body["raised_by"] == ["d2", "d3"] and second[0].body["project_id"] == project_id(PAST_YEAR, "02")
        assert len(await feedback.store.load(items[0])) == 1, "one item per opinion, however often it is delivered"
    finally:
        await feedback.stop()
        await activities.stop()
