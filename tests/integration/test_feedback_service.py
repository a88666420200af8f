"""Feedback through NATS: commands, department receipts and replies on HUIMIN_INGEST, rating and reopening."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from shared.contracts.feedback import feedback_stream_id
from shared.rpc import RpcClient
from shared.subjects import command_subject, ingest_result_subject, ingest_subject
from tests.conftest import eventually
from tests.integration.feedback_support import TODAY, feedback, published_types  # noqa: F401 (fixture)

YEAR = TODAY.year
PROJECT = f"project-{YEAR}-01"


def cmd(name: str) -> str:
    return command_subject("feedback", name)


async def submit_and_forward(client: RpcClient, fid: str = "fb-t1") -> dict:
    submitted = await client.call(cmd("submit_feedback"), {
        "feedback_id": fid, "year": YEAR, "source": "delegate", "project_id": PROJECT, "category": "施工安全",
        "content": "施工围挡占用人行道，群众出行不便", "raised_by": ["d001"],
        "raised_on": (TODAY - timedelta(days=10)).isoformat()}, actor="office:王芳")
    assert submitted["feedback_id"] == fid and submitted["version"] == 1
    return await client.call(cmd("forward_feedback"), {
        "feedback_id": fid, "main_department": "jhzjj", "co_departments": ["jhcgj"],
        "forwarded_on": (TODAY - timedelta(days=8)).isoformat()}, actor="office:王芳")


class Results:
    """Collects ingest results of some departments."""

    def __init__(self) -> None:
        self.items: list[dict] = []

    async def collect(self, msg) -> None:
        self.items.append(json.loads(msg.data))

    def of(self, message_id: str) -> dict | None:
        return next((r for r in self.items if r["message_id"] == message_id), None)


async def send(nc, dept: str, kind: str, body: dict) -> None:
    await nc.jetstream().publish(ingest_subject(dept, kind), json.dumps(body, ensure_ascii=False).encode())


def now_iso(days_ago: int = 0) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


async def test_department_answers_over_ingest_and_a_wrong_department_is_rejected(feedback, nc):
    client = RpcClient(nc)
    forwarded = await submit_and_forward(client)
    assert forwarded["due_on"] == (TODAY - timedelta(days=8) + timedelta(days=30)).isoformat(), "default: 30 days"
    results = Results()
    for dept in ("jhzjj", "jhjyj"):
        await nc.subscribe(ingest_result_subject(dept), cb=results.collect)

    await send(nc, "jhzjj", "receipt", {"message_id": "r-1", "feedback_id": "fb-t1", "received_at": now_iso(7),
                                        "handler": "张建华"})
    await send(nc, "jhjyj", "reply", {"message_id": "x-1", "feedback_id": "fb-t1", "answered_at": now_iso(1),
                                      "result": "adopted", "content": "我局已处理"})
    await send(nc, "jhzjj", "reply", {"message_id": "a-1", "feedback_id": "fb-t1", "answered_at": now_iso(1),
                                      "result": "partly_adopted", "content": "已调整围挡，预留1.5米人行通道",
                                      "planned_actions": "月底前完成人行道修复", "handler": "张建华"})
    await eventually(lambda: asyncio.sleep(0, len(results.items) >= 3))

    assert results.of("r-1")["status"] == "accepted" and results.of("a-1")["status"] == "accepted"
    wrong = results.of("x-1")
    assert wrong["status"] == "rejected" and wrong["reasons"][0]["code"] == "forbidden"
    assert wrong["reasons"][0]["zh"] == "该意见未交办给本单位"
    dead = await feedback.pool.fetchrow("SELECT dept_code, kind FROM ingest_dead_letters")
    assert (dead["dept_code"], dead["kind"]) == ("jhjyj", "reply"), "the refused reply is kept"
    events = await feedback.store.load(feedback_stream_id("fb-t1"))
    assert [e.type for e in events] == ["FeedbackSubmitted", "FeedbackForwarded", "FeedbackReceived",
                                        "FeedbackAnswered"]
    assert events[2].actor == "dept:jhzjj" and events[3].body["result"] == "partly_adopted"

    # who raised it is not satisfied: a second round with a new due date, answered again
    reopened = await client.call(cmd("rate_feedback"), {"feedback_id": "fb-t1", "rated_by": "d001",
                                                        "rating": "unsatisfied", "comment": "人行道仍未恢复"})
    assert reopened["status"] == "reopened"
    events = await feedback.store.load(feedback_stream_id("fb-t1"))
    assert [e.type for e in events[-2:]] == ["FeedbackRated", "FeedbackReopened"]
    assert events[-1].body["round"] == 2 and events[-1].body["due_on"] == (TODAY + timedelta(days=30)).isoformat()

    await send(nc, "jhzjj", "reply", {"message_id": "a-2", "feedback_id": "fb-t1", "answered_at": now_iso(),
                                      "result": "adopted", "content": "人行道已修复"})
    await eventually(lambda: asyncio.sleep(0, results.of("a-2") is not None))
    assert results.of("a-2")["status"] == "accepted"
    closed = await client.call(cmd("rate_feedback"), {"feedback_id": "fb-t1", "rated_by": "d001",
                                                      "rating": "satisfied"})
    assert closed["status"] == "closed"

    async def published() -> list[str] | None:
        types = await published_types(nc, feedback_stream_id("fb-t1"))
        return types if "FeedbackClosed" in types else None

    types = await eventually(published)
    assert types.count("FeedbackAnswered") == 2 and types.count("FeedbackReopened") == 1


async def test_receipt_for_an_unknown_item_or_in_the_future_is_rejected(feedback, nc):
    results = Results()
    await nc.subscribe(ingest_result_subject("jhzjj"), cb=results.collect)
    await submit_and_forward(RpcClient(nc), "fb-t2")
    await send(nc, "jhzjj", "receipt", {"message_id": "u-1", "feedback_id": "fb-nope", "received_at": now_iso()})
    await send(nc, "jhzjj", "receipt", {"message_id": "u-2", "feedback_id": "fb-t2",
                                        "received_at": now_iso(-1)})  # tomorrow
    await send(nc, "jhzjj", "receipt", {"message_id": "u-3", "feedback_id": "fb-t2",
                                        "received_at": "2026-05-01T10:00:00"})  # no time zone
    await eventually(lambda: asyncio.sleep(0, len(results.items) >= 3))
    assert results.of("u-1")["reasons"][0]["code"] == "not_found"
    assert results.of("u-2")["reasons"][0]["field"] == "received_at"
    assert results.of("u-3")["reasons"][0]["field"] == "received_at"
    assert await feedback.pool.fetchval("SELECT count(*) FROM ingest_dead_letters") == 3


async def test_commands_check_references_against_the_copy(feedback, nc):
    client = RpcClient(nc)
    reply = await client.request(cmd("submit_feedback"), {
        "year": YEAR, "source": "group", "group_id": "yjh", "project_id": PROJECT, "category": "进度",
        "content": "项目进度滞后", "raised_by": ["d001", "d003", "d999"], "raised_on": TODAY.isoformat()})
    assert reply["error"]["code"] == "validation"
    assert {d["field"] for d in reply["error"]["details"]} == {"raised_by.2", "raised_by"}
    ok = await client.call(cmd("submit_feedback"), {
        "year": YEAR, "source": "public", "public_source": "曼听社区居民", "category": "群众诉求",
        "content": "希望增设夜间照明", "raised_by": ["d003"], "raised_on": TODAY.isoformat()})
    assert ok["feedback_id"].startswith("fb-")
    bad = await client.request(cmd("forward_feedback"), {"feedback_id": ok["feedback_id"],
                                                         "main_department": "nobody"})
    assert bad["error"]["details"][0]["field"] == "main_department"
