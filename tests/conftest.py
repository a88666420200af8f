"""Fixtures: real nats-server and PostgreSQL (embedded unless NATS_URL / DATABASE_URL are set)."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import nats
import pytest
from nats.aio.client import Client as NatsClient

from shared.config import Settings
from shared.logging import configure_logging
from shared.runtime.embedded import EmbeddedNats, EmbeddedPostgres
from shared.subjects import EVENTS_STREAM, INGEST_STREAM

T = TypeVar("T")


@pytest.fixture(scope="session")
def server_urls() -> Iterator[tuple[str, str]]:
    """(NATS URL, PostgreSQL admin URL) of servers that live for the whole test session."""
    started: list[Any] = []
    tmp = Path(tempfile.mkdtemp(prefix="huimin-test-"))
    nats_url = os.environ.get("NATS_URL")
    if not nats_url:
        started.append(EmbeddedNats(tmp / "nats").start())
        nats_url = started[-1].url
    db_url = os.environ.get("DATABASE_URL")
    if not db_url:
        started.append(EmbeddedPostgres(tmp / "pg", fast_unsafe=True, database="postgres").start())
        db_url = started[-1].url
    yield nats_url, db_url
    for server in reversed(started):
        server.stop()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture
async def database_url(server_urls: tuple[str, str]) -> AsyncIterator[str]:
    """A fresh, empty database for one test."""
    admin_url = server_urls[1]
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield _with_database(admin_url, name)
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def nats_url(server_urls: tuple[str, str]) -> AsyncIterator[str]:
    """The NATS server, with Huimin's streams removed so each test starts empty."""
    url = server_urls[0]
    nc = await nats.connect(url)
    js = nc.jetstream()
    for stream in (EVENTS_STREAM, INGEST_STREAM):
        try:
            await js.delete_stream(stream)
        except nats.js.errors.NotFoundError:
            pass
    await nc.close()
    yield url


@pytest.fixture
def settings(nats_url: str, database_url: str) -> Settings:
    """Settings pointing at the test servers, with short timings so tests run fast."""
    return Settings(
        nats_url=nats_url,
        database_url=database_url,
        log_level="warning",
        relay_poll_interval_s=0.2,
        projection_fetch_timeout_s=0.2,
        projection_nak_delay_s=0.2,
        projection_gap_delay_s=0.3,
        rpc_timeout_s=5.0,
    )


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[NatsClient]:
    """A plain NATS client connection."""
    client = await nats.connect(nats_url)
    yield client
    await client.close()


async def eventually(probe: Callable[[], Awaitable[T]], *, timeout: float = 10.0, interval: float = 0.05) -> T:
    """Poll until the probe returns a truthy value; fail with the last value after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")


@pytest.fixture(scope="session", autouse=True)
def quiet_logs() -> None:
    """Warnings and errors only, as readable lines."""
    configure_logging(Settings(log_level="warning", log_format="console"), "tests")
