"""schemathesis against the gateway's OpenAPI: no 5xx, and responses match the schema, for every operation.

The gateway runs as a process (`python -m services.gateway`) on a free port, every other service
in-process on the same servers; requests come as an office user (the role that may do the most of
the city's work) through a Bearer token. Operations are found in /openapi.json at run time.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from services.gateway.admin import create_user
from services.gateway.users import SCHEMA as GATEWAY_SCHEMA, UserStore
from shared.db import create_pool
from shared.runtime.processes import free_port, spawn, stop
from tests.conftest import eventually
from tests.faultkit import FAST_ENV, ROOT, fresh_system

EXAMPLES = 15
# Operations that end the caller's session or stream files: they are exercised by the gateway's own tests.
SKIPPED = {("POST", "/api/v1/auth/logout")}


@pytest.fixture(scope="module")
async def gateway(server_urls, tmp_path_factory):
    """Base URL and office credentials of a gateway process in front of every service."""
    async with fresh_system(server_urls) as (settings, _):
        user = await create_user(settings, "office-st", "correct-horse-battery", "office", "接口测试")
        pool = await create_pool(settings, settings.database_url, GATEWAY_SCHEMA, "tests")
        token = await UserStore(pool).issue_token(user.username, "schemathesis")
        await pool.close()
        port = free_port()
        env = {**os.environ, **FAST_ENV, "NATS_URL": settings.nats_url, "DATABASE_URL": settings.database_url,
               "HUIMIN_GATEWAY_PORT": str(port), "HUIMIN_GATEWAY_ARGON2_TIME_COST": "1",
               "HUIMIN_GATEWAY_ARGON2_MEMORY_KIB": "1024"}
        log = tmp_path_factory.mktemp("gateway") / "gateway.log"
        proc = spawn([sys.executable, "-m", "services.gateway"], env=env, cwd=ROOT, log_path=log)
        base = f"http://127.0.0.1:{port}"

        async def up() -> bool:
            try:
                async with httpx.AsyncClient() as client:
                    return (await client.get(f"{base}/healthz", timeout=1)).status_code == 200
            except httpx.HTTPError:
                return proc.poll() is not None  # ends the wait; the assertion below reports it

        await eventually(up, timeout=30, interval=0.2)
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            yield base, {"Authorization": f"Bearer {token}"}, log
        finally:
            stop(proc)


def operations(base: str) -> list[Any]:
    """Every operation of the live OpenAPI document."""
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


async def test_no_server_errors_and_responses_match_the_schema(gateway):
    base, headers, log = gateway
    ops = await asyncio.to_thread(operations, base)
    assert len(ops) >= 10, [f"{o.method} {o.path}" for o in ops]
    failures: list[str] = []

    def exercise(op: Any) -> None:
        @hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                             suppress_health_check=list(HealthCheck))
        @given(op.as_strategy())
        def prop(case: Any) -> None:
            response = case.call(base_url=base, headers=headers, timeout=15)
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        try:
            prop()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 (collect every failure, report them together)
            failures.append(f"{op.method.upper()} {op.path}: {str(exc)[:1500]}")

    for op in ops:
        if (op.method.upper(), op.path) not in SKIPPED:
            await asyncio.to_thread(exercise, op)
    assert not failures, "\n\n".join(failures) + "\n--- gateway log\n" + log.read_text()[-3000:]
