"""Reading back what reached a JetStream stream, for assertions."""

from __future__ import annotations

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy


async def read_all(nc: NatsClient, stream: str, subject: str = ">") -> list[Msg]:
    """Every message of a stream, in stream order."""
    js = nc.jetstream()
    total = (await js.stream_info(stream)).state.messages
    sub = await js.pull_subscribe(
        subject, stream=stream,
        config=ConsumerConfig(ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=30),
    )
    out: list[Msg] = []
    while len(out) < total:
        try:
            out += await sub.fetch(500, timeout=2)
        except nats.errors.TimeoutError:
            break
    await sub.unsubscribe()
    return out
