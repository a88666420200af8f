"""Demo data for `make up`: a realistic year of Jinghong, one module per service, loaded over NATS.

Each module `shared/demo/<service>.py` defines `ORDER` (load order) and `async load(client)`
returning counts; loading is safe to repeat (what exists is left as it is).
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
from collections import Counter
from typing import Any

from shared.errors import Conflict, HuiminError
from shared.logging import get_logger
from shared.rpc import RpcClient
from shared.subjects import command_subject, query_subject

log = get_logger(__name__)
DEMO_ACTOR = "demo-loader"


class CommandSender:
    """Sends demo commands to one service, counting what was created, existed already or was refused."""

    def __init__(self, client: RpcClient, service: str) -> None:
        self.client, self.service, self.counts = client, service, Counter[str]()

    async def send(self, name: str, body: dict[str, Any], counted: str | None = None) -> dict[str, Any] | None:
        """The reply of a command, or None when it existed already or was refused (logged)."""
        try:
            reply = await self.client.call(command_subject(self.service, name), body, actor=DEMO_ACTOR)
        except Conflict:
            self.counts["existing"] += 1
            return None
        except HuiminError as exc:
            self.counts["refused"] += 1
            log.warning("demo command refused", command=name, error=exc.message, details=exc.details)
            return None
        if counted:
            self.counts[counted] += 1
        return reply


async def stable_delegates_view(client: RpcClient, name: str, year: int, wait_s: float,
                                poll_s: float = 1.0) -> list[dict[str, Any]]:
    """A delegates-view answer for a year, once it is non-empty and unchanged for `poll_s`."""
    deadline, last = asyncio.get_running_loop().time() + wait_s, None
    while asyncio.get_running_loop().time() < deadline:
        # Groups answer member ids only when asked (a demo group has a few dozen members); the
        # supervision list is paged (the demo year has far fewer than 500 projects).
        body = {"year": year} | ({"members": 500} if name == "groups" else {"limit": 500})
        reply = await client.request(query_subject("delegates", name), body)
        items = reply.get("items") if reply.get("ok") else None
        if items and items == last:
            return items
        last = items
        await asyncio.sleep(poll_s)
    return last or []


def modules() -> list[Any]:
    """The demo modules, in load order."""
    found = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)]
    return sorted(found, key=lambda m: m.ORDER)


async def load_all(client: RpcClient) -> dict[str, dict[str, int]]:
    """Load every service's demo data; return what each created."""
    return {m.__name__.rsplit(".", 1)[-1]: await m.load(client) for m in modules()}
