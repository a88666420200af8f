"""Every consumer under redelivery, duplicates and poison: read models unchanged, poison kept, the rest flows.

Consumers: the projection, each write service's copy of other services' events, each service's
department input. They are found at run time, so a new service is covered as it lands.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from shared.contracts.base import EventEnvelope
from shared.subjects import EVENTS_STREAM, INGEST_STREAM, event_subject, ingest_subject
from shared.verify import format_report, verify
from tests.faultkit import Load, RecordingClient, Tally, start_in_process, stop_in_process
from tests.integration.jetstream import read_all

# Bookkeeping that a poison message or a redelivery may rightly touch; every other table must not change.
BOOKKEEPING = {"dead_letters", "stream_versions", "model_meta", "events", "event_cursors", "schema_migrations",
               "ingest_log", "ingest_dead_letters"}


async def snapshot(database_url: str, schemas: list[str]) -> dict[str, list[str]]:
    """Every row of every read-model and copy table, as sorted JSON text."""
    conn = await asyncpg.connect(database_url)
    try:
        out = {}
        for schema in schemas:
            for (table,) in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema):
                if table not in BOOKKEEPING:
                    rows = await conn.fetch(f"SELECT to_jsonb(t)::text FROM {schema}.{table} t")
                    out[f"{schema}.{table}"] = sorted(r[0] for r in rows)
        return out
    finally:
        await conn.close()


async def settled(settings, checks=("read_models", "copies", "ingest")) -> None:
    """Wait for every consumer to catch up; the read models and copies must equal a rebuild."""
    report = await verify(settings, checks=checks)
    assert report.ok, format_report(report)


@pytest.fixture
async def world(settings, nc):
    """Every service in-process with projects, plans, reports and department messages."""
    runtimes = await start_in_process(settings)
    load = Load(RecordingClient(nc, Tally()))
    await load.setup()
    await load.projects(6, reports=2)
    await load.department_messages(nc.jetstream())
    await settled(settings, checks=("events", "read_models", "copies", "ingest"))
    yield runtimes, load
    await stop_in_process(runtimes)


def schemas_of(runtimes) -> list[str]:
    return ["projection"] + [rt.schema for rt in runtimes.values() if rt.followed]


async def test_duplicates_and_poison_events_change_no_read_model(world, settings, nc):
    runtimes, load = world
    before = await snapshot(settings.database_url, schemas_of(runtimes))
    js = nc.jetstream()
    poison_ids, junk_seqs = {}, {}
    producers = sorted({m.subject.split(".")[2] for m in await read_all(nc, EVENTS_STREAM)})
    for service in producers:
        sample = (await read_all(nc, EVENTS_STREAM, f"huimin.evt.{service}.>"))[-1]
        # The same event again under a new message id: JetStream keeps it, so every consumer sees it twice.
        await js.publish(sample.subject, sample.data, headers={"Nats-Msg-Id": str(uuid.uuid4())})
        junk = await js.publish(f"huimin.evt.{service}.junk.Garbage", b"\x00\xff not an event")
        junk_seqs[service] = junk.seq
        real = json.loads(sample.data)
        poison = EventEnvelope(event_id=uuid.uuid4(), type=real["type"], schema_version=real["schema_version"],
                               stream_id=f"poison-{service}", version=1, occurred_at=datetime.now(UTC),
                               recorded_at=datetime.now(UTC), actor="test", correlation_id="poison",
                               body={"not": "what this event type holds"})
        await js.publish(event_subject(service, poison.stream_id, poison.type), poison.model_dump_json().encode())
        poison_ids[service] = poison.event_id
    await settled(settings)
    assert await snapshot(settings.database_url, schemas_of(runtimes)) == before, "a duplicate or poison changed a table"

    conn = await asyncpg.connect(settings.database_url)
    try:
        for schema, followed in [("projection", producers)] + [
                (rt.schema, rt.followed[1]) for rt in runtimes.values() if rt.followed]:
            dead = await conn.fetch(f"SELECT event_id, stream_seq FROM {schema}.dead_letters")
            for service in followed:
                if service in junk_seqs:
                    assert junk_seqs[service] in {r["stream_seq"] for r in dead}, (schema, service, "junk kept")
        dead = {r["event_id"] for r in await conn.fetch("SELECT event_id FROM projection.dead_letters")}
        assert set(poison_ids.values()) <= dead, "the projection keeps every poison event"
    finally:
        await conn.close()

    # The rest flows: later commands still reach every read model.
    count = len(before["projection.projects"])
    await load.projects(2, reports=1, prefix="F")
    await settled(settings)
    after = await snapshot(settings.database_url, schemas_of(runtimes))
    assert len(after["projection.projects"]) == count + 2


async def test_department_duplicates_and_poison(world, settings, nc):
    runtimes, load = world
    js = nc.jetstream()
    conn = await asyncpg.connect(settings.database_url)
    try:
        events_before = {s: await conn.fetchval(f"SELECT count(*) FROM {s}.events") for s in runtimes
                         if runtimes[s].event_sourced}
        kinds = {(name, kind) for name, rt in runtimes.items() if rt._ingest for kind in rt._ingest.kinds}
        assert kinds, "no service consumes department input"
        sent = []
        for service, kind in sorted(kinds):
            sent.append((service, (await js.publish(ingest_subject("load-a", kind), b"\x00{not json")).seq))
            sent.append((service, (await js.publish(ingest_subject("load-a", kind), b'{"message_id": 5}')).seq))
        await load.department_messages(js)  # every message again: the same message ids
        await settled(settings)
        for service, seq in sent:
            row = await conn.fetchrow(f"SELECT status, result FROM {service}.ingest_log WHERE stream_seq = $1", seq)
            assert row and row["status"] == "rejected", (service, seq, row)
            assert await conn.fetchval(f"SELECT count(*) FROM {service}.ingest_dead_letters WHERE stream_seq = $1",
                                       seq) == 1
        resent = [seq for _, seq in load.tally.published[-len(load.leads) * 3:]]
        statuses = {r["status"] for r in await conn.fetch(
            "SELECT status FROM projects.ingest_log WHERE stream_seq = ANY($1)", resent)}
        assert statuses == {"duplicate"}, statuses
        events_after = {s: await conn.fetchval(f"SELECT count(*) FROM {s}.events") for s in events_before}
        assert events_after == events_before, "nothing was recorded twice"
    finally:
        await conn.close()


async def test_redelivery_of_everything_changes_nothing(world, settings, nc):
    runtimes, _ = world
    schemas = schemas_of(runtimes)
    before = await snapshot(settings.database_url, schemas)
    conn = await asyncpg.connect(settings.database_url)
    try:
        counts = {s: await conn.fetchval(f"SELECT count(*) FROM {s}.events") for s in runtimes
                  if runtimes[s].event_sourced}
        logged = await conn.fetchval("SELECT count(*) FROM projects.ingest_log")
    finally:
        await conn.close()
    await stop_in_process(runtimes)
    js = nc.jetstream()
    deleted = 0
    for stream in (EVENTS_STREAM, INGEST_STREAM):
        for info in await js.consumers_info(stream):
            if info.config.durable_name:
                await js.delete_consumer(stream, info.name)
                deleted += 1
    assert deleted >= 1 + len([rt for rt in runtimes.values() if rt.followed])
    restarted = await start_in_process(settings)
    try:
        await settled(settings)  # every consumer has re-read its whole stream
        assert await snapshot(settings.database_url, schemas) == before
        conn = await asyncpg.connect(settings.database_url)
        try:
            assert {s: await conn.fetchval(f"SELECT count(*) FROM {s}.events") for s in counts} == counts
            assert await conn.fetchval("SELECT count(*) FROM projects.ingest_log") == logged
        finally:
            await conn.close()
    finally:
        await stop_in_process(restarted)
        runtimes.clear()  # the fixture's services are already stopped
