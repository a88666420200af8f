"""The department side of HUIMIN_INGEST: publish messages and wait for their results.

Used by `huimin report-progress` and the demo loader; any kind of department input (progress,
reply, ...) goes the same way. Results arrive on `huimin.ingest.result.<dept_code>` and name the
stream sequence of the message they answer.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from shared.rpc import encode
from shared.subjects import ingest_result_subject, ingest_subject

Message = tuple[str, str, dict[str, Any] | bytes]  # (dept_code, kind, payload)


async def send_messages(nc: NatsClient, messages: list[Message], timeout: float = 30.0) -> list[dict[str, Any] | None]:
    """Publish messages in order and return each one's result (None for those with no result in time)."""
    results: dict[int, dict[str, Any]] = {}

    async def keep(msg: Msg) -> None:
        with_seq = json.loads(msg.data)
        if isinstance(with_seq, dict) and isinstance(with_seq.get("stream_seq"), int):
            results[with_seq["stream_seq"]] = with_seq

    # Subscribe before publishing: a result can come back before the publish call returns.
    sub = await nc.subscribe(ingest_result_subject("*"), cb=keep)
    try:
        js = nc.jetstream()
        seqs = []
        for dept, kind, payload in messages:
            data = payload if isinstance(payload, bytes) else encode(payload)
            seqs.append((await js.publish(ingest_subject(dept, kind), data)).seq)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not all(s in results for s in seqs) and loop.time() < deadline:
            await asyncio.sleep(0.05)
    finally:
        await sub.unsubscribe()
    return [results.get(s) for s in seqs]
