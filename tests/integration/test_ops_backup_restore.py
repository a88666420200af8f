"""Backup and restore as docs/operations.md tells it: dump the event stores (infra/postgres/backup.sh), restore
them into an empty database (restore.sh), re-publish to a JetStream that lost everything (`huimin republish`),
rebuild, and the views answer exactly as before."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import asyncpg
import pytest

from shared.config import Settings
from shared.rpc import RpcClient
from shared.runtime.embedded import _postgres_bin_dir
from shared.subjects import EVENTS_STREAM, INGEST_STREAM, command_subject, query_subject
from tests.conftest import eventually
from tests.integration.ops_support import (
    INFRA,
    ROOT,
    YEAR,
    build_service,
    listed_codes,
    prepare_year,
    run_roles_init,
    voted_project,
    with_user,
)

SERVICES = ["projects", "projection"]
CODES = [f"{i:02d}" for i in range(1, 9)]


def run(script: str, *args: str, env: dict[str, str]) -> None:
    done = subprocess.run([str(INFRA / "postgres" / script), *args], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def tool_env(database_url: str) -> dict[str, str]:
    return {**os.environ, "PATH": f"{_postgres_bin_dir()}:{os.environ['PATH']}", "DATABASE_URL": database_url}


async def views(client: RpcClient) -> dict:
    """What the projection answers about the year: list, each project, the year, the departments."""
    answers = {
        "list": await client.request(query_subject("projects", "list"), {"year": YEAR, "limit": 1000}),
        "year": await client.request(query_subject("projects", "year"), {"year": YEAR}),
        "departments": await client.request(query_subject("projects", "departments"), {}),
    }
    for item in answers["list"]["items"]:
        answers[item["project_id"]] = await client.request(query_subject("projects", "get"),
                                                          {"project_id": item["project_id"]})
    return answers


async def run_system(settings: Settings, role_urls: dict[str, str]):  # type: ignore[no-untyped-def]
    runtimes = [build_service(s, settings.model_copy(update={"database_url": role_urls[s]})) for s in SERVICES]
    for rt in runtimes:
        await rt.start()
    return runtimes


@pytest.fixture
async def second_database(server_urls):
    admin_url = server_urls[1]
    name = f"t_restore_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    yield with_user(admin_url, "postgres", database=name)
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def test_dump_restore_republish_rebuild_serves_identical_views(settings, database_url, second_database,
                                                                    nc, tmp_path):
    client = RpcClient(nc)
    runtimes = await run_system(settings, run_roles_init(database_url, SERVICES))
    try:
        await prepare_year(client)
        for code in CODES:
            await client.call(command_subject("projects", "register_voted_project"), voted_project(code))
        await eventually(lambda: _has(client, CODES))
        before = await views(client)
    finally:
        for rt in reversed(runtimes):
            await rt.stop()
    assert before["list"]["ok"] and before["list"]["total"] == len(CODES) and len(before) == 3 + len(CODES)
    assert all(answer["ok"] for answer in before.values()), before

    dump = tmp_path / "huimin.dump"
    run("backup.sh", str(dump), env=tool_env(database_url))

    # Disaster: a new PostgreSQL (init step, then the restore) and a JetStream that lost everything.
    role_urls = run_roles_init(second_database, SERVICES)
    run("restore.sh", str(dump), env=tool_env(second_database))
    js = nc.jetstream()
    for stream in (EVENTS_STREAM, INGEST_STREAM):
        await js.delete_stream(stream)
    restored = settings.model_copy(update={"database_url": second_database})
    cli = subprocess.run([sys.executable, "-c", "from shared.cli import main; main()", "republish", "projects"],
                         env={**os.environ, "NATS_URL": restored.nats_url, "DATABASE_URL": second_database},
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert cli.returncode == 0, cli.stderr
    republished = int(cli.stdout.split("projects:")[1].split()[0])
    assert republished >= len(CODES) + 2  # the year, the department and every project

    runtimes = await run_system(restored, role_urls)
    try:
        await eventually(lambda: _has(client, CODES), timeout=15)
        rebuilt = await client.call(command_subject("projection", "rebuild"), {}, timeout=60)
        assert rebuilt["events"] >= len(CODES)
        assert await views(client) == before
    finally:
        for rt in reversed(runtimes):
            await rt.stop()

    # The restored schemas belong to their services' roles again.
    conn = await asyncpg.connect(second_database)
    try:
        assert await conn.fetchval("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'projects'") \
            == "huimin_projects"
    finally:
        await conn.close()


async def _has(client: RpcClient, codes: list[str]) -> bool:
    return set(codes) <= await listed_codes(client)


def test_restore_refuses_a_damaged_dump(tmp_path, database_url):
    broken = tmp_path / "broken.dump"
    broken.write_bytes(b"PGDMP not really a dump")
    done = subprocess.run([str(INFRA / "postgres" / "restore.sh"), str(broken)], env=tool_env(database_url),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
