"""Department input framework: accepted, duplicate, rejected and unparseable messages, redelivery."""

from __future__ import annotations

import asyncio
import json

import pytest

from shared.contracts.base import registry
from shared.errors import Forbidden
from shared.eventstore.migrations import apply_migrations
from shared.eventstore.store import EventStore, NewEvent
from shared.ingest import INGEST_MIGRATIONS, DepartmentMessage, IngestConsumer
from shared.streams import ensure_streams
from shared.subjects import INGEST_STREAM, ingest_result_subject, ingest_subject
from tests.conftest import eventually
from tests.integration.conftest import SCHEMA
from tests.integration.test_eventstore import Noted


class NoteMessage(DepartmentMessage):
    text: str
    stream: str


@pytest.fixture
async def consumer(settings, pool, nc):
    async with pool.acquire() as conn:
        await apply_migrations(conn, INGEST_MIGRATIONS)
    store = EventStore(pool, registry)
    c = IngestConsumer(service="testsvc", schema=SCHEMA, settings=settings)

    @c.kind("note", NoteMessage)
    async def note(msg: NoteMessage, ctx, conn):
        if msg.stream == "forbidden":
            raise Forbidden("本部门无权报送该项目 / this department may not report on this project")
        rc = ctx.request_context()
        _, version = await store.load_events(msg.stream, conn)
        return await store.append(msg.stream, version, [NewEvent(Noted(text=msg.text), rc.received_at)],
                                  actor=rc.actor, correlation_id=rc.correlation_id, recorded_at=rc.received_at,
                                  conn=conn)

    js = nc.jetstream()
    await ensure_streams(js, settings)
    c.bind(pool, js)
    return c


async def test_results_for_each_kind_of_input(consumer, nc, pool):
    js = nc.jetstream()
    results: list[dict] = []

    async def collect(msg) -> None:
        results.append(json.loads(msg.data))

    sub = await nc.subscribe(ingest_result_subject("jhzjj"), cb=collect)
    task = asyncio.create_task(consumer.run())
    try:
        send = [
            (b'{"message_id": "m1", "text": "ok", "stream": "s-1"}', "accepted"),
            (b'{"message_id": "m1", "text": "ok again", "stream": "s-1"}', "duplicate"),
            (b'{"message_id": "m2", "stream": "s-1"}', "rejected"),  # text missing
            (b"\x00 not json", "rejected"),
            (b'{"message_id": "m3", "text": "x", "stream": "forbidden"}', "rejected"),
        ]
        for data, _ in send:
            await js.publish(ingest_subject("jhzjj", "note"), data)
        await eventually(lambda: asyncio.sleep(0, len(results) >= len(send)))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sub.unsubscribe()
    assert [r["status"] for r in results] == [s for _, s in send]
    accepted, duplicate, missing, junk, forbidden = results
    assert len(accepted["event_ids"]) == 1 and duplicate["event_ids"] == accepted["event_ids"]
    assert missing["reasons"][0]["field"] == "text" and missing["reasons"][0]["zh"]
    assert junk["reasons"][0]["code"] == "unparseable"
    assert forbidden["reasons"][0] == {"code": "forbidden", "field": None,
                                       "zh": "本部门无权报送该项目", "en": "this department may not report on this project"}
    assert await pool.fetchval("SELECT count(*) FROM events") == 1, "the duplicate was not recorded again"
    dead = await pool.fetch("SELECT stream_seq, payload FROM ingest_dead_letters ORDER BY stream_seq")
    assert [r["stream_seq"] for r in dead] == [missing["stream_seq"], junk["stream_seq"], forbidden["stream_seq"]]
    assert dead[1]["payload"] == b"\x00 not json", "the raw input is kept as it came"
    assert (await js.stream_info(INGEST_STREAM)).state.messages == 10, "inputs and results are both kept"


async def test_redelivered_message_is_answered_from_the_log(consumer, pool):
    data = b'{"message_id": "r1", "text": "once", "stream": "s-9"}'
    first = await consumer.process(ingest_subject("jhzjj", "note"), data, 77)
    again = await consumer.process(ingest_subject("jhzjj", "note"), data, 77)
    assert first == again and first["status"] == "accepted"
    assert await pool.fetchval("SELECT count(*) FROM events WHERE stream_id = 's-9'") == 1


async def test_unknown_kind_is_dead_lettered(consumer, pool):
    result = await consumer.process("huimin.ingest.jhzjj.mystery", b'{"message_id": "u1"}', 5)
    assert result["status"] == "rejected" and result["reasons"][0]["code"] == "unknown_kind"
    assert await pool.fetchval("SELECT kind FROM ingest_dead_letters WHERE stream_seq = 5") == "mystery"


async def test_field_names_with_nul_characters_are_still_answered_and_kept(consumer, pool):
    data = b'{"message_id": "n1", "text": "x", "stream": "s-1", "bad\\u0000key": 1}'
    result = await consumer.process(ingest_subject("jhzjj", "note"), data, 91)
    assert result["status"] == "rejected"
    assert any("\\u0000" in (r["field"] or "") for r in result["reasons"])
    assert await pool.fetchval("SELECT payload FROM ingest_dead_letters WHERE stream_seq = 91") == data
