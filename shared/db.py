"""PostgreSQL connections: one pool per service, pinned to the service's own schema."""

from __future__ import annotations

import json
import re
from typing import Any

import asyncpg

from shared.config import Settings

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Errors that mean "PostgreSQL is not reachable now", not "this input is bad".
TRANSIENT_DB_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.IdleInTransactionSessionTimeoutError,
    # What asyncpg raises on a connection whose server went away mid-query ("cannot switch to
    # state ...; another operation is in progress"), e.g. during a PostgreSQL restart.
    asyncpg.exceptions.InternalClientError,
)


def check_schema_name(schema: str) -> str:
    """A schema name safe to interpolate into SQL (lowercase identifier)."""
    if not _SCHEMA_RE.match(schema):
        raise ValueError(f"invalid schema name: {schema!r}")
    return schema


async def _init_connection(conn: asyncpg.Connection) -> None:
    for pg_type in ("json", "jsonb"):
        await conn.set_type_codec(
            pg_type, encoder=lambda v: json.dumps(v, ensure_ascii=False), decoder=json.loads, schema="pg_catalog"
        )


def server_settings(settings: Settings, schema: str, application: str) -> dict[str, str]:
    """Session settings of every connection of a service."""
    return {
        "search_path": check_schema_name(schema),
        "application_name": application,
        "idle_in_transaction_session_timeout": str(settings.db_idle_in_transaction_timeout_ms),
        "timezone": "UTC",
    }


async def keep_session(conn: asyncpg.Connection) -> None:
    """Pool reset: nothing beyond asyncpg's rollback of an open transaction.

    Pooled connections never keep session state (settings only with SET LOCAL, or set and RESET
    by the one caller; LISTEN and advisory locks are on dedicated connections, shared/leader.py),
    so asyncpg's default reset query (RESET ALL, UNLISTEN *, ...) was a round trip per
    acquisition for nothing: every command, query and consumer batch.
    """


async def create_pool(settings: Settings, dsn: str, schema: str, application: str, **kwargs: Any) -> asyncpg.Pool:
    """A connection pool whose connections see only `schema` by default."""
    await ensure_schema(dsn, schema)
    return await asyncpg.create_pool(
        dsn,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        server_settings=server_settings(settings, schema, application),
        init=_init_connection,
        reset=keep_session,
        timeout=settings.db_acquire_timeout_s,
        command_timeout=30,
        **kwargs,
    )


async def connect(settings: Settings, dsn: str, schema: str, application: str) -> asyncpg.Connection:
    """A dedicated connection outside any pool (for advisory locks and LISTEN)."""
    conn = await asyncpg.connect(
        dsn, server_settings=server_settings(settings, schema, application), timeout=settings.db_acquire_timeout_s
    )
    await _init_connection(conn)
    return conn


async def ensure_schema(dsn: str, schema: str) -> None:
    """Create the service's schema if it does not exist yet."""
    conn = await asyncpg.connect(dsn)
    try:
        # A role confined to a schema made for it (infra/postgres) may not CREATE on the database,
        # and PostgreSQL checks that privilege even for IF NOT EXISTS: look first.
        if await conn.fetchval("SELECT true FROM pg_namespace WHERE nspname = $1", check_schema_name(schema)):
            return
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {check_schema_name(schema)}")
    except asyncpg.exceptions.UniqueViolationError:
        pass  # created concurrently by another instance
    finally:
        await conn.close()
