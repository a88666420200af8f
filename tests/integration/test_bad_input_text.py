"""Oversized, malformed, wrongly typed and injection-like input: clear errors, and stored text returned exactly."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import nats
import pytest

from shared.contracts.base import Command
from shared.rpc import MAX_BODY_BYTES, RpcClient, dispatch
from shared.subjects import command_subject, ingest_subject, query_subject
from tests.conftest import eventually
from tests.faultkit import Load, RecordingClient, Tally, fresh_system

REGISTER = command_subject("projects", "register_voted_project")

# Kept exactly, whatever they look like (leading/trailing whitespace is trimmed by every contract, by design).
AWKWARD = [
    "'; DROP TABLE events; -- 老旧小区",
    "<script>alert('改造')</script> & <b>粗体</b> &amp;",
    "控制字符\x01\x07\x1b[31m红色\x1b[0m\t制表\r\n换行",
    "表情 🏗️👷‍♀️🇨🇳 与组合字符 é",
    "\u202e右到左覆盖 RTL \u200b零宽",
    "${jndi:ldap://x.invalid/a} {{7*7}} %s%n%x",
    "反斜杠 \\ 引号 \" ' 以及字面 \\u0000 和 \\x00",
]
LONG_CHINESE = ("景洪市城区老旧小区改造提升项目包括供排水管网、道路硬化、绿化亮化和适老化设施。" * 200)[:4000]


@pytest.fixture(scope="module")
async def system(server_urls):
    async with fresh_system(server_urls) as (settings, _):
        nc = await nats.connect(settings.nats_url)
        load = Load(RecordingClient(nc, Tally()))
        await load.setup()
        yield settings, RpcClient(nc, timeout=10), load
        await nc.close()


def project(load: Load, code: str, **fields) -> dict:
    return {"year": load.year, "code": code, "title": "测试项目", "category": "城乡建设", "lead_unit": "load-a",
            "votes_for": 200, "votes_against": 3, "votes_abstain": 1, "voted_on": f"{load.year}-01-12", **fields}


async def test_awkward_text_is_stored_and_returned_exactly(system):
    settings, client, load = system
    codes = []
    for i, text in enumerate(AWKWARD):
        code = f"TXT{i}"
        reply = await client.request(REGISTER, project(load, code, title=text, description=LONG_CHINESE,
                                                        category=text[:50]))
        assert reply["ok"], reply
        codes.append((code, text))
    conn = await asyncpg.connect(settings.database_url)
    try:
        for code, text in codes:
            stored = json.loads(await conn.fetchval(
                "SELECT data FROM projects.events WHERE stream_id = $1 AND version = 1", f"project-{load.year}-{code}"))
            assert (stored["title"], stored["description"]) == (text, LONG_CHINESE)
    finally:
        await conn.close()
    for code, text in codes:
        async def shown(code=code):
            r = await client.request(query_subject("projects", "get"), {"project_id": f"project-{load.year}-{code}"})
            return r if r.get("ok") else None

        item = (await eventually(shown))["project"]
        assert (item["title"], item["category"], item["description"]) == (text, text[:50], LONG_CHINESE)


@pytest.mark.parametrize(("body", "fields"), [
    ({"votes_for": "很多"}, {"votes_for"}),
    ({"year": "2025年"}, {"year"}),
    ({"co_units": "load-b"}, {"co_units"}),
    ({"locations": [{"township": 3}]}, {"locations.0.township"}),
    ({"title": "长" * 201}, {"title"}),
    ({"description": "长" * 4001}, {"description"}),
    ({"title": "含有\x00空字符"}, {"title"}),
    ({"budget_wan": float("inf")}, None),  # not even valid JSON: Infinity
    ({"surprise": {"deep": [1, 2, 3]}}, {"surprise"}),
])
async def test_wrong_fields_get_validation_errors_naming_them(system, body, fields):
    _, client, load = system
    reply = await client.request(REGISTER, project(load, "BAD1", **body))
    assert reply["ok"] is False and reply["error"]["code"] == "validation", reply
    if fields is not None:
        assert {d["field"] for d in reply["error"]["details"]} == fields, reply


@pytest.mark.parametrize("raw", [b"", b"{not json", b"\xff\xfe\x00", b"[" * 100_000, b'{"year": NaN}', b"null",
                                 b'"a string"', b"[1, 2]", b'{"year": 1e999}'])
async def test_malformed_bodies_get_validation_errors(system, raw):
    settings, _, _ = system
    async with await nats.connect(settings.nats_url) as nc:
        reply = json.loads((await nc.request(REGISTER, raw, timeout=10)).data)
    assert reply["ok"] is False and reply["error"]["code"] == "validation", reply
    assert " / " in reply["error"]["message"]


async def test_oversized_bodies_are_refused_clearly(system):
    _, client, load = system
    # Beyond NATS's max_payload: the client refuses to send it, with the same clear answer.
    huge = project(load, "BIG1", description="大" * (MAX_BODY_BYTES // 2))
    reply = await client.request(REGISTER, huge)
    assert reply["error"]["code"] == "validation" and "请求内容过大" in reply["error"]["message"], reply
    # A server configured with a larger max_payload still refuses more than MAX_BODY_BYTES.
    body = json.dumps(huge, ensure_ascii=False).encode()
    assert len(body) > MAX_BODY_BYTES

    async def never_called(cmd, ctx):  # noqa: ANN001
        raise AssertionError("an oversized body reached the handler")

    reply = await dispatch(Command, never_called, body, {}, timeout=5)
    assert reply["error"]["code"] == "validation" and reply["error"]["details"]["bytes"] == len(body)


async def test_malformed_department_messages_are_rejected_and_kept(system):
    settings, _, _ = system
    async with await nats.connect(settings.nats_url) as nc:
        js = nc.jetstream()
        sub = await nc.subscribe("huimin.ingest.result.load-a")
        sent = {}
        for raw in (b"[" * 100_000, b'{"message_id": "m-1", "year": Infinity}', "含\x00".encode(),
                    json.dumps({"message_id": "m-2", "year": 2025, "code": "X", "as_of": "2025-09-01",
                                "percent": 50, "narrative": "长" * 4001}).encode()):
            sent[(await js.publish(ingest_subject("load-a", "progress"), raw)).seq] = raw
        results = {}
        async with asyncio.timeout(15):
            while len(results) < len(sent):
                msg = await sub.next_msg(timeout=15)
                result = json.loads(msg.data)
                results[result["stream_seq"]] = result
    assert {r["status"] for r in results.values()} == {"rejected"}
    assert all(reason["code"] != "internal" for r in results.values() for reason in r["reasons"]), results
    conn = await asyncpg.connect(settings.database_url)
    try:
        kept = {r["stream_seq"]: r["payload"] for r in await conn.fetch(
            "SELECT stream_seq, payload FROM projects.ingest_dead_letters WHERE stream_seq = ANY($1)", list(sent))}
    finally:
        await conn.close()
    assert kept == sent, "every rejected message is kept exactly as it came"
