"""Department input framework: accepted, duplicate, rejected and unparseable messages, redelivery."""

from __future__ import annotations

import asyncio
import json

import pytest

from shared.contracts.base import registry
from shared.errors import Forbidden
from shared.eventstore.migrations import apply_migrations
from shared.eventstore.store import EventStore, NewEvent
from shared.handling import RETRY_ATTEMPTS
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


def note(message_id: str, stream: str, text: str | None = "x") -> bytes:
    body = {"message_id": message_id, "stream": stream} | ({"text": text} if text is not None else {})
    return json.dumps(body).encode()


async def texts_of(pool, stream: str) -> list[str]:
    rows = await pool.fetch("SELECT version, data->>'text' AS text FROM events WHERE stream_id = $1 ORDER BY version",
                            stream)
    assert [r["version"] for r in rows] == list(range(1, len(rows) + 1))
    return [r["text"] for r in rows]


async def test_a_batch_gets_each_message_its_own_result_in_stream_order(consumer, pool):
    subject = ingest_subject("jhzjj", "note")
    before = await consumer.process(subject, note("early", "s-1", "earlier"), 100)
    batch = [
        (subject, note("b1", "s-1", "first"), 101),
        (subject, note("b1", "s-1", "first again"), 102),  # the same message_id in the same batch
        (subject, note("b2", "forbidden"), 103),  # the handler refuses it
        (subject, note("b3", "s-1", None), 104),  # text missing
        (subject, note("early", "s-1", "earlier"), 100),  # redelivered: answered from the log
        (subject, note("b4", "s-1", "second"), 105),
        (subject, note("b2", "s-2", "fixed"), 106),  # a rejected message_id may be sent again, corrected
        (subject, b"{broken", 107),
    ]
    results = await consumer.process_batch(batch)
    assert [(r["stream_seq"], r["status"]) for r in results] == [
        (101, "accepted"), (102, "duplicate"), (103, "rejected"), (104, "rejected"), (100, "accepted"),
        (105, "accepted"), (106, "accepted"), (107, "rejected")]
    assert results[1]["event_ids"] == results[0]["event_ids"] and len(results[0]["event_ids"]) == 1
    assert results[2]["reasons"][0]["code"] == "forbidden" and results[3]["reasons"][0]["field"] == "text"
    assert results[4] == before
    assert await texts_of(pool, "s-1") == ["earlier", "first", "second"], "applied in stream order, once each"
    assert await texts_of(pool, "s-2") == ["fixed"]
    assert await texts_of(pool, "forbidden") == [], "the rejection undid only its own writes"
    assert [r["stream_seq"] for r in await pool.fetch("SELECT stream_seq FROM ingest_dead_letters ORDER BY 1")] == [
        103, 104, 107]
    logged = {r["stream_seq"]: r["status"] for r in await pool.fetch("SELECT stream_seq, status FROM ingest_log")}
    assert logged == {100: "accepted", 101: "accepted", 102: "duplicate", 103: "rejected", 104: "rejected",
                      105: "accepted", 106: "accepted", 107: "rejected"}

    again = await consumer.process_batch(batch)  # the whole batch redelivered after a crash before its acks
    assert again == results
    assert await pool.fetchval("SELECT count(*) FROM events") == 4


async def run_until_answered(consumer, nc, sends: list[bytes], expected: int) -> list[dict]:
    """Publish every message first (so they are fetched as one batch), consume, collect the results."""
    js = nc.jetstream()
    results: list[dict] = []

    async def collect(msg) -> None:
        results.append(json.loads(msg.data))

    sub = await nc.subscribe(ingest_result_subject("jhzjj"), cb=collect)
    for data in sends:
        await js.publish(ingest_subject("jhzjj", "note"), data)
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: asyncio.sleep(0, len(results) >= expected))
        await asyncio.sleep(0.3)  # nothing more comes
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sub.unsubscribe()
    return results


async def test_a_transient_database_failure_mid_batch_loses_nothing(consumer, nc, pool):
    model, handle = consumer.kinds["note"]
    failed: list[int] = []

    async def flaky(msg, ctx, conn):
        if msg.stream == "s-flaky" and not failed:
            failed.append(ctx.stream_seq)
            raise ConnectionResetError("connection to the database lost")
        return await handle(msg, ctx, conn)

    consumer.kinds["note"] = (model, flaky)
    sends = [note("t1", "s-1", "one"), note("t2", "s-flaky", "flaky"), note("t3", "s-1", "two"),
             note("t3", "s-1", "two again")]
    results = await run_until_answered(consumer, nc, sends, expected=len(sends))
    assert failed, "the failure happened"
    assert [(r["message_id"], r["status"]) for r in results] == [
        ("t1", "accepted"), ("t2", "accepted"), ("t3", "accepted"), ("t3", "duplicate")], "one answer each, in order"
    assert await texts_of(pool, "s-1") == ["one", "two"] and await texts_of(pool, "s-flaky") == ["flaky"]
    assert await pool.fetchval("SELECT count(*) FROM ingest_log") == len(sends)
    info = await nc.jetstream().consumer_info(INGEST_STREAM, consumer.durable)
    assert info.num_ack_pending == 0 and info.num_pending == 0, "every message acked"


async def test_a_message_that_cannot_be_recorded_does_not_hold_back_its_batch(consumer, nc, pool, monkeypatch):
    write_log = consumer._write_log

    async def failing_for_poison(conn, new):
        if any(item.data == b'{"poison": true}' for item, _ in new):
            raise ValueError("cannot store this one")
        await write_log(conn, new)

    monkeypatch.setattr(consumer, "_write_log", failing_for_poison)
    sends = [note("p1", "s-1", "one"), b'{"poison": true}', note("p2", "s-1", "two")]
    results = await run_until_answered(consumer, nc, sends, expected=2)
    assert [(r["message_id"], r["status"]) for r in results] == [("p1", "accepted"), ("p2", "accepted")]
    assert await texts_of(pool, "s-1") == ["one", "two"]
    info = await nc.jetstream().consumer_info(INGEST_STREAM, consumer.durable)
    assert info.num_ack_pending == 1, "the poison stays in the stream for a later try, unacked"


async def test_a_message_whose_stream_moved_meanwhile_is_decided_again(settings, pool, consumer):
    store = EventStore(pool, registry)
    c = IngestConsumer(service="racesvc", schema=SCHEMA, settings=settings)
    attempts: list[int] = []

    @c.kind("note", NoteMessage)
    async def note(msg: NoteMessage, ctx, conn):
        rc = ctx.request_context()
        _, version = await store.load_events(msg.stream, conn)
        attempts.append(version)
        if len(attempts) <= int(msg.text):  # another writer appends first, on its own connection
            await store.append(msg.stream, version, [NewEvent(Noted(text="other"), rc.received_at)],
                               actor="other", correlation_id="c", recorded_at=rc.received_at)
        return await store.append(msg.stream, version, [NewEvent(Noted(text=msg.text), rc.received_at)],
                                  actor=rc.actor, correlation_id=rc.correlation_id, recorded_at=rc.received_at,
                                  conn=conn)

    c.bind(pool, consumer.js)
    subject = ingest_subject("jhzjj", "note")
    won = await c.process(subject, b'{"message_id": "race-1", "text": "2", "stream": "s-r"}', 300)
    assert won["status"] == "accepted" and attempts == [0, 1, 2], "decided again on the stream as it then was"
    texts = [e.body["text"] for e in await store.load("s-r")]
    assert texts == ["other", "other", "2"]
    attempts.clear()
    # Losing every attempt: rejected with the conflict, never stored.
    body = json.dumps({"message_id": "race-2", "text": str(RETRY_ATTEMPTS), "stream": "s-r"}).encode()
    lost = await c.process(subject, body, 301)
    assert lost["status"] == "rejected" and lost["reasons"][0]["code"] == "conflict"
    assert attempts == list(range(3, 3 + RETRY_ATTEMPTS))
    assert [e.body["text"] for e in await store.load("s-r")] == [*texts, *["other"] * RETRY_ATTEMPTS]
