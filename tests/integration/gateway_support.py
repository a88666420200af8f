"""Helpers of the gateway tests: a running gateway with one user per role, and stand-in services on NATS."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from nats.aio.client import Client as NatsClient

from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from services.gateway.core import Gateway
from services.gateway.users import Role, User
from shared.config import Settings
from shared.rpc import ACTOR_HEADER, encode

PASSWORD = "correct-horse-battery"
SCOPES: dict[Role, dict[str, str]] = {
    Role.DEPARTMENT: {"dept_code": "jhjyj"},
    Role.DELEGATE: {"delegate_id": "d001"},
    Role.GROUP_LEADER: {"delegate_id": "d002", "group_id": "gasa-2026"},
}


@dataclass
class Party:
    """A user of one role with an API token."""

    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """Bearer authentication."""
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Running:
    """A started gateway, its app, an HTTP client and one party per role."""

    gateway: Gateway
    client: httpx.AsyncClient
    parties: dict[Role, Party] = field(default_factory=dict)

    def as_(self, role: Role) -> dict[str, str]:
        """Headers authenticating as the role's user."""
        return self.parties[role].headers


@asynccontextmanager
async def running_gateway(settings: Settings, **gw: Any) -> AsyncIterator[Running]:
    """A gateway on the test servers, served in-process, with users of every role."""
    # Cheap password hashing: argon2 at its recommended cost takes ~0.5 s a hash on a busy CI machine.
    gateway = Gateway(settings, GatewaySettings(**{"argon2_time_cost": 1, "argon2_memory_kib": 1024, **gw}))
    await gateway.start()
    app = create_app(gateway, manage_lifespan=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            running = Running(gateway, client)
            for role in Role:
                user = await gateway.users.create_user(f"{role}1", PASSWORD, str(role), f"{role} user",
                                                       **SCOPES.get(role, {}))
                running.parties[role] = Party(user, await gateway.users.issue_token(user.username, "tests"))
            yield running
    finally:
        await gateway.stop()


Reply = Callable[[str, dict[str, Any]], dict[str, Any]]


class StubServices:
    """Answers every command and query on NATS like a service would, recording what it got.

    The gateway is tested on its own: routing, permissions, actors and error mapping. The real
    services are exercised end to end in tests/e2e.
    """

    def __init__(self, nc: NatsClient) -> None:
        self.nc = nc
        self.calls: list[dict[str, Any]] = []
        self.replies: dict[str, Reply] = {}
        self._subs: list[Any] = []

    async def start(self) -> StubServices:
        """Subscribe to every command and query subject."""
        for subject in ("huimin.cmd.>", "huimin.qry.>"):
            self._subs.append(await self.nc.subscribe(subject, cb=self._answer))
        await self.nc.flush()
        return self

    async def stop(self) -> None:
        """Stop answering."""
        for sub in self._subs:
            await sub.unsubscribe()
        await self.nc.flush()

    async def _answer(self, msg: Any) -> None:
        body = json.loads(msg.data or b"{}")
        call = {"subject": msg.subject, "body": body, "actor": (msg.headers or {}).get(ACTOR_HEADER)}
        self.calls.append(call)
        make = self.replies.get(msg.subject)
        reply = make(msg.subject, body) if make else {"ok": True, "items": [], "total": 0, "echo": body}
        await msg.respond(encode(reply))

    def last(self, subject: str) -> dict[str, Any] | None:
        """The last request seen on a subject."""
        return next((c for c in reversed(self.calls) if c["subject"] == subject), None)


@asynccontextmanager
async def stub_services(nc: NatsClient) -> AsyncIterator[StubServices]:
    """Stand-in services for the duration of a block."""
    stubs = await StubServices(nc).start()
    try:
        yield stubs
    finally:
        await stubs.stop()
