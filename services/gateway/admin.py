"""User administration outside the web: `huimin create-admin` / `huimin create-user` (direct to PostgreSQL)."""

from __future__ import annotations

from services.gateway.users import GATEWAY_MIGRATIONS, SCHEMA, User, UserStore
from shared.config import Settings
from shared.db import create_pool
from shared.eventstore.migrations import apply_migrations


async def create_user(settings: Settings, username: str, password: str, role: str, display_name: str = "",
                      **scope: str | None) -> User:
    """Create a user in the gateway schema (migrating it first, so this works before the gateway ever ran)."""
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is not set: point it at the running system (make up prints it)")
    pool = await create_pool(settings.model_copy(update={"db_pool_min": 1, "db_pool_max": 2}),
                             settings.database_url, SCHEMA, "huimin-cli")
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn, GATEWAY_MIGRATIONS)
        return await UserStore(pool).create_user(username, password, role, display_name, **scope)
    finally:
        await pool.close()
