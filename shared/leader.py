"""One active instance per job: a PostgreSQL advisory lock held on a dedicated connection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg

from shared.config import Settings
from shared.db import connect


@contextlib.asynccontextmanager
async def leadership(settings: Settings, dsn: str, schema: str, job: str,
                     poll_s: float = 1.0) -> AsyncIterator[asyncpg.Connection]:
    """Wait until this instance holds the job's lock; yield the connection holding it.

    A dedicated connection, not a pooled one: a pool's reset would release the lock
    (REFERENCE.md). The lock goes with the connection, so a crashed leader frees it at once.
    """
    conn = await connect(settings, dsn, schema, job[:60])
    try:
        while not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", f"{schema}.{job}"):
            await asyncio.sleep(poll_s)  # another instance does the job
        yield conn
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.close(), 2)
        conn.terminate()
