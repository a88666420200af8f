"""The department registry a project registration checks: kept with the events, by every writer and process."""

from __future__ import annotations

import asyncio
from datetime import date

from services.projects.main import MIGRATIONS
from services.projects.main import build as build_projects
from services.projects.world import KnownDepartments, department_registry, registered_departments
from shared.contracts.base import registry
from shared.contracts.projects import DepartmentRegistered, department_stream_id
from shared.db import create_pool
from shared.eventstore.migrations import EVENTSTORE_MIGRATIONS, apply_migrations
from shared.eventstore.store import EventStore, NewEvent
from shared.rpc import RpcClient
from shared.subjects import command_subject
from shared.timeutil import start_of_day

YEAR = 2026
OPEN_YEAR = {"year": YEAR, "session_start": "2026-01-17", "session_end": "2026-01-21"}
REGISTERED_ON = date(2026, 1, 5)


def cmd(name: str) -> str:
    return command_subject("projects", name)


def department(i: int) -> dict[str, str]:
    return {"code": f"jhd{i:03d}", "full_name": f"景洪市第{i}局", "short_name": f"市{i}局"}


def project(code: str, lead: str, co: list[str]) -> dict[str, object]:
    return {"year": YEAR, "code": code, "title": f"民生实事{code}", "category": "城乡建设", "lead_unit": lead,
            "co_units": co, "votes_for": 200, "votes_against": 3, "votes_abstain": 1, "voted_on": "2026-01-21"}


async def registry_from_events(store: EventStore) -> set[str]:
    """Department codes as the event table says (what the registry table must agree with)."""
    rows = await store.pool.fetch("SELECT type, schema_version, data FROM events WHERE type = 'DepartmentRegistered'")
    return {registry.decode(r["type"], r["schema_version"], r["data"]).code for r in rows}


async def test_departments_registered_concurrently_through_two_processes(settings, nc):
    """Two projects processes share the commands; every department either registers is seen by both."""
    services = [build_projects(settings), build_projects(settings)]
    for rt in services:
        await rt.start()
    try:
        client = RpcClient(nc, timeout=20)
        assert (await client.request(cmd("open_year"), OPEN_YEAR))["ok"]
        # 16 at once: enough to interleave two processes, few enough to stay inside the 4.5 s handler
        # bound of the test settings on a loaded 2-core CI machine.
        replies = await asyncio.gather(*(client.request(cmd("register_department"), department(i)) for i in range(16)))
        assert all(r["ok"] for r in replies), [r for r in replies if not r["ok"]]
        # The same code sent twice at once: one registration, one refusal, one row.
        twice = await asyncio.gather(*(client.request(cmd("register_department"), department(99)) for _ in range(2)))
        assert sorted(r["ok"] for r in twice) == [False, True]
        codes = {f"jhd{i:03d}" for i in [*range(16), 99]}
        for rt in services:
            assert rt.store is not None
            assert set(await department_registry(rt.store)) == codes == await registry_from_events(rt.store)
        # Projects naming any of them register, whichever process takes the command.
        replies = await asyncio.gather(*(
            client.request(cmd("register_voted_project"), project(f"{i:02d}", f"jhd{i:03d}", [f"jhd{i + 8:03d}"]))
            for i in range(8)))
        assert all(r["ok"] for r in replies), [r for r in replies if not r["ok"]]
    finally:
        for rt in services:
            await rt.stop()


async def test_unregistered_units_are_still_refused(settings, nc):
    rt = build_projects(settings)
    await rt.start()
    try:
        client = RpcClient(nc)
        opened = await client.request(cmd("open_year"), OPEN_YEAR)
        assert opened["ok"], opened
        assert (await client.request(cmd("register_department"), department(1)))["ok"]
        reply = await client.request(cmd("register_voted_project"), project("01", "jhd001", ["jhd002", "jhd001"]))
        assert reply["error"]["code"] == "validation"
        fields = {d["field"]: d["code"] for d in reply["error"]["details"]}
        assert fields == {"co_units.0": "unknown_department", "co_units.1": "lead_also_co_unit"}, reply
        reply = await client.request(cmd("register_voted_project"), project("01", "jhd002", []))
        assert [d["field"] for d in reply["error"]["details"]] == ["lead_unit"]
        assert (await client.request(cmd("register_department"), department(2)))["ok"]
        assert (await client.request(cmd("register_voted_project"), project("01", "jhd002", ["jhd001"])))["ok"]
    finally:
        await rt.stop()


async def test_departments_stored_before_the_registry_existed_are_backfilled(settings):
    """Upgrading a database whose events predate the registry table: the migration fills it."""
    assert settings.database_url
    pool = await create_pool(settings, settings.database_url, "projects", "test")
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn, EVENTSTORE_MIGRATIONS)
        store = EventStore(pool, registry)
        for code, name in [("jhold1", "景洪市老一局"), ("jhold2", "景洪市老二局")]:
            await store.append(department_stream_id(code), 0,
                               [NewEvent(DepartmentRegistered(code=code, name=name, short_name=name[2:]),
                                         start_of_day(REGISTERED_ON))],
                               actor="test", correlation_id="c", recorded_at=start_of_day(REGISTERED_ON))
        async with pool.acquire() as conn:
            await apply_migrations(conn, [*EVENTSTORE_MIGRATIONS, *MIGRATIONS])
        registered = await department_registry(store)
        assert {c: d.name for c, d in registered.items()} == {"jhold1": "景洪市老一局", "jhold2": "景洪市老二局"}
        assert registered["jhold1"].short_name == "市老一局"
        assert await registered_departments(store, ["jhold2", "jhnone"]) == {"jhold2"}
    finally:
        await pool.close()



async def test_pooled_connections_come_back_without_an_open_transaction(settings):
    """The service's pool skips asyncpg's reset query; a transaction left open is still rolled back."""
    rt = build_projects(settings)
    await rt.start()
    try:
        assert rt.pool is not None
        conn = await rt.pool.acquire()
        await conn.execute("BEGIN; INSERT INTO departments (code, name, short_name, pos) VALUES ('jhleft', 'x', 'x', 0)")
        await rt.pool.release(conn)
        async with rt.pool.acquire() as again:
            assert not again.is_in_transaction()
            assert await again.fetchval("SELECT count(*) FROM departments WHERE code = 'jhleft'") == 0
            assert await again.fetchval("SHOW search_path") == "projects"
    finally:
        await rt.stop()


async def test_a_department_registered_by_another_process_is_found_after_a_miss(settings):
    """A process remembers only departments it found: a code it missed is looked up again."""
    rt = build_projects(settings)
    await rt.start()
    assert settings.database_url
    other = await create_pool(settings, settings.database_url, "projects", "other-process")
    try:
        assert rt.store is not None
        known = KnownDepartments()
        assert await known.registered(rt.store, ["jhlate"]) == frozenset()
        await EventStore(other, registry).append(
            department_stream_id("jhlate"), 0,
            [NewEvent(DepartmentRegistered(code="jhlate", name="景洪市新设局", short_name="市新设局"),
                      start_of_day(REGISTERED_ON))],
            actor="test", correlation_id="c", recorded_at=start_of_day(REGISTERED_ON))
        assert await known.registered(rt.store, ["jhlate", "jhnone"]) == {"jhlate"}
        assert known.codes == {"jhlate"}, "only what was found is remembered"
    finally:
        await other.close()
        await rt.stop()
