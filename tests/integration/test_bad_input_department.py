"""Property: any department message of any kind gets a result — accepted, duplicate or rejected with clear
reasons — never an internal failure; a rejected message is kept as it came and records nothing.

Every kind every service consumes on HUIMIN_INGEST is covered (found at collection time).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import nats
import pytest
from hypothesis import strategies as st

from shared.rpc import encode
from shared.subjects import ingest_result_subject, ingest_subject
from shared.verify import service_runtimes
from shared.config import Settings
from tests.faultkit import fresh_system
from tests.integration.test_bad_input_commands import run_property
from tests.strategies import ANY_JSON, any_bodies

KINDS = sorted((name, kind, model) for name, rt in service_runtimes(Settings(nats_url="nats://127.0.0.1:4222")).items()
               if rt._ingest for kind, (model, _) in rt._ingest.kinds.items())
DEPARTMENT = "load-a"
EXAMPLES = 30


@pytest.fixture(scope="module")
async def system(server_urls):
    """Every service, started once for the module; results of one department collected by stream sequence."""
    async with fresh_system(server_urls) as (settings, runtimes):
        nc = await nats.connect(settings.nats_url)
        conn = await asyncpg.connect(settings.database_url)
        results: dict[int, dict[str, Any]] = {}
        arrived = asyncio.Event()

        async def collect(msg: Any) -> None:
            result = json.loads(msg.data)
            results[result["stream_seq"]] = result
            arrived.set()

        sub = await nc.subscribe(ingest_result_subject(DEPARTMENT), cb=collect)
        yield nc, conn, results, arrived
        await sub.unsubscribe()
        await conn.close()
        await nc.close()


async def result_of(results: dict[int, dict[str, Any]], arrived: asyncio.Event, seq: int, data: bytes) -> dict[str, Any]:
    try:
        async with asyncio.timeout(10):
            while seq not in results:
                arrived.clear()
                await arrived.wait()
    except TimeoutError:
        raise AssertionError(f"no result for message {seq} in 10 s: {data[:300]!r}") from None
    return results[seq]


def payloads(model: Any) -> st.SearchStrategy[bytes]:
    """JSON bodies (valid, broken or anything) and, now and then, bytes that are not JSON at all."""
    return st.one_of(any_bodies(model).map(encode), any_bodies(model).map(encode),
                     st.binary(max_size=40), ANY_JSON.map(lambda v: encode(v)[:-1]))


@pytest.mark.parametrize(("service", "kind", "model"), KINDS, ids=[f"{s}.{k}" for s, k, _ in KINDS])
async def test_any_department_message_gets_a_clear_result(system, service, kind, model):
    nc, conn, results, arrived = system
    js = nc.jetstream()

    async def check(data: bytes) -> None:
        seq = (await js.publish(ingest_subject(DEPARTMENT, kind), data)).seq
        result = await result_of(results, arrived, seq, data)
        assert result["status"] in {"accepted", "duplicate", "rejected"}, result
        assert all(r["code"] != "internal" for r in result["reasons"]), (data, result)
        assert all(r["zh"] and r["en"] for r in result["reasons"]), result
        recorded = await conn.fetchval(f"SELECT count(*) FROM {service}.events WHERE meta->>'correlation_id' = $1",
                                       f"ingest-{seq}")
        if result["status"] == "rejected":
            kept = await conn.fetchval(f"SELECT payload FROM {service}.ingest_dead_letters WHERE stream_seq = $1", seq)
            assert kept == data, "the message is kept exactly as it came"
            assert recorded == 0
        if result["status"] == "duplicate":
            assert recorded == 0

    await asyncio.to_thread(run_property, payloads(model), check, asyncio.get_running_loop(), EXAMPLES)


def test_every_service_with_department_input_is_covered():
    assert KINDS, "no service consumes department input"
    assert ("projects", "progress") in {(s, k) for s, k, _ in KINDS}
