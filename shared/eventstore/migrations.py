"""Versioned SQL migrations, applied at start-up inside the service's schema."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

_FILE_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    """One SQL file of a component, e.g. ('eventstore', 1, '0001_events.sql')."""

    component: str
    version: int
    path: Path


def migrations_in(component: str, directory: Path) -> list[Migration]:
    """The migrations of a component: files named NNNN_name.sql, in order."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_RE.match(path.name)
        if not match:
            raise ValueError(f"migration file name must be NNNN_name.sql: {path}")
        found.append(Migration(component, int(match.group(1)), path))
    return found


EVENTSTORE_MIGRATIONS = migrations_in("eventstore", Path(__file__).parent / "migrations")


async def apply_migrations(conn: asyncpg.Connection, migrations: list[Migration]) -> list[Migration]:
    """Apply the migrations not applied yet to the connection's schema; return those applied."""
    schema = await conn.fetchval("SELECT current_schema()")
    if schema is None:
        raise RuntimeError("the connection's search_path names no existing schema")
    applied: list[Migration] = []
    async with conn.transaction():
        # Instances of one service may start together: one applies, the others wait.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"{schema}.migrations")
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   component text NOT NULL, version integer NOT NULL, name text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))"""
        )
        done = {(r["component"], r["version"]) for r in await conn.fetch("SELECT component, version FROM schema_migrations")}
        for m in migrations:
            if (m.component, m.version) in done:
                continue
            await conn.execute(m.path.read_text())
            await conn.execute(
                "INSERT INTO schema_migrations (component, version, name) VALUES ($1, $2, $3)",
                m.component, m.version, m.path.name,
            )
            applied.append(m)
    return applied
