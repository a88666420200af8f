"""Sessions expire on the server: a session cookie kept past its lifetime no longer authenticates."""

from __future__ import annotations

import asyncio

from tests.integration.gateway_support import PASSWORD, running_gateway, stub_services

LIST = "/api/v1/views/projects/list"


async def test_a_session_expires_on_the_server(settings, nc):
    async with stub_services(nc), running_gateway(settings, session_ttl_s=1) as gw:
        r = await gw.client.post("/api/v1/auth/login", json={"username": "office1", "password": PASSWORD})
        assert r.status_code == 200, r.text
        session = gw.client.cookies["huimin_session"]
        assert (await gw.client.get(LIST)).status_code == 200
        await asyncio.sleep(1.5)
        gw.client.cookies.clear()  # the client would drop it; a copied cookie must fail on the server too
        late = await gw.client.get(LIST, headers={"Cookie": f"huimin_session={session}"})
        assert late.status_code == 401, late.text
