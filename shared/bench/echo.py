"""A bare NATS responder in its own process: the request/reply baseline the command path is compared with.

Usage: python -m shared.bench.echo NATS_URL SUBJECT  (answers every request with its own payload)
"""

from __future__ import annotations

import asyncio
import signal
import sys

import nats


async def serve(url: str, subject: str) -> None:
    """Echo requests on `subject` until SIGTERM or SIGINT."""
    nc = await nats.connect(url)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)

    async def answer(msg: nats.aio.msg.Msg) -> None:
        await msg.respond(msg.data)

    await nc.subscribe(subject, queue="echo", cb=answer)
    await nc.flush()
    print("ready", flush=True)
    await stopping.wait()
    await nc.close()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2]))
