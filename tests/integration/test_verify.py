"""`huimin verify`: silent on a consistent system, and finds each kind of difference it is meant to find."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from shared.contracts.base import EventEnvelope
from shared.subjects import EVENTS_STREAM, event_subject
from shared.verify import format_report, verify
from tests.faultkit import ROOT, Load, RecordingClient, Tally, start_in_process, stop_in_process
from tests.integration.jetstream import read_all


@pytest.fixture
async def system(settings, nc):
    """Every service in-process, with a few projects registered, planned and reported on."""
    runtimes = await start_in_process(settings)
    try:
        load = Load(RecordingClient(nc, Tally()))
        await load.setup()
        await load.projects(4, reports=2)
        assert load.tally.outcomes["ok"] >= 4 * 4 + 4, load.tally.outcomes
        settled = await verify(settings)  # waits until every consumer has caught up
        assert settled.ok, format_report(settled)
        yield runtimes
    finally:
        await stop_in_process(runtimes)


def whats(report) -> list[str]:
    return [f"[{d.check}] {d.what}" for d in report.differences]


async def test_consistent_system_has_no_differences(system, settings):
    report = await verify(settings, settle_s=0)
    assert report.ok, format_report(report)
    assert report.counts["events in projects"] >= 20
    assert report.counts[f"messages in {EVENTS_STREAM}"] == report.counts["events in projects"] + sum(
        v for k, v in report.counts.items() if k.startswith("events in ") and k != "events in projects")
    assert any(k.startswith("rows in projection.") for k in report.counts), "read models were compared"
    assert "projection.dead_letters" in report.ignored_columns, "its id and recorded_at are volatile"


async def test_changed_and_missing_read_model_rows_are_found(system, settings):
    conn = await asyncpg.connect(settings.database_url)
    try:
        table, key = "projection.projects", "project_id"
        victim = await conn.fetchval(f"SELECT {key} FROM {table} ORDER BY 1 LIMIT 1")
        await conn.execute(f"UPDATE {table} SET title = title || '（改）' WHERE {key} = $1", victim)
        await conn.execute(f"DELETE FROM {table} WHERE {key} = (SELECT max({key}) FROM {table})")
    finally:
        await conn.close()
    report = await verify(settings, checks=["read_models"])
    assert not report.ok
    diff = next(d for d in report.differences if d.what == f"{table} differs from a rebuild")
    assert diff.detail["rows_changed"] == 1 and diff.detail["rows_only_in_rebuild"] == 1, format_report(report)
    assert diff.detail["changed"][0]["live"]["title"].endswith("（改）")


async def test_event_missing_from_jetstream_and_duplicates_are_found(system, settings, nc):
    js = nc.jetstream()
    msgs = await read_all(nc, EVENTS_STREAM)
    first, second = msgs[0], msgs[1]
    await js.delete_msg(EVENTS_STREAM, first.metadata.sequence.stream)
    # The same event again under another message id: JetStream keeps it, consumers must skip it.
    await js.publish(second.subject, second.data, headers={"Nats-Msg-Id": str(uuid.uuid4())})
    stray = EventEnvelope(event_id=uuid.uuid4(), type="ProjectVoted", schema_version=1, stream_id="project-1999-X",
                          version=1, occurred_at=datetime.now(UTC), recorded_at=datetime.now(UTC), actor="t",
                          correlation_id="c", body={})
    await js.publish(event_subject("projects", stray.stream_id, stray.type), stray.model_dump_json().encode())
    await js.publish("huimin.evt.projects.junk.ProjectVoted", b"\x00 not an envelope")
    report = await verify(settings, checks=["events"])
    found = whats(report)
    event_id = json.loads(first.data)["event_id"]
    assert f"[events] event {event_id} is stored but not in {EVENTS_STREAM}" in found
    assert f"[events] event {json.loads(second.data)['event_id']} published more than once" in found
    assert any("holds an event no event store has" in w for w in found)
    assert any("is not an event envelope" in w for w in found)
    assert len(found) == 4, found


async def test_stored_event_that_differs_from_the_published_one_is_found(system, settings):
    conn = await asyncpg.connect(settings.database_url)
    try:
        event_id = await conn.fetchval(
            "UPDATE projects.events SET data = data || '{\"title\": \"改过\"}' "
            "WHERE pos = (SELECT min(pos) FROM projects.events WHERE type = 'ProjectVoted') RETURNING event_id")
    finally:
        await conn.close()
    report = await verify(settings, checks=["events"])
    assert [d.detail.get("fields") for d in report.differences] == [["body"]], format_report(report)
    assert str(event_id) in report.differences[0].what


async def test_copy_tables_are_compared_with_a_rebuild(system, settings):
    followers = [rt for rt in system.values() if rt.followed]
    if not followers:
        pytest.fail("no service keeps a copy of other services' events: nothing to check")
    rt = followers[0]
    report = await verify(settings, checks=["copies"])
    assert report.ok, format_report(report)
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(f"DELETE FROM {rt.schema}.stream_versions WHERE stream_id = "
                           f"(SELECT min(stream_id) FROM {rt.schema}.stream_versions)")
    finally:
        await conn.close()
    report = await verify(settings, checks=["copies"])
    assert f"[copy:{rt.service}] {rt.schema}.stream_versions differs from a rebuild" in whats(report)


async def test_missing_read_models_are_reported(settings, nc):
    """No projection running: its read models are missing and nothing consumes the events."""
    runtimes = await start_in_process(settings, ["projects"])
    try:
        load = Load(RecordingClient(nc, Tally()))
        await load.setup()
    finally:
        await stop_in_process(runtimes)
    report = await verify(settings, settle_s=0.5, checks=["read_models"])
    found = whats(report)
    assert "[lag] projection not built yet" in found
    assert "[read_models] the read models (schema projection) do not exist, but events do" in found


async def test_cli_exit_codes(system, settings):
    env = {**os.environ, "NATS_URL": settings.nats_url, "DATABASE_URL": settings.database_url,
           "HUIMIN_LOG_LEVEL": "error"}
    run = [str(Path(sys.executable).parent / "huimin"), "verify", "--settle", "5"]
    ok = subprocess.run(run, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK: no differences" in ok.stdout
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute("DELETE FROM projection.stream_versions")
    finally:
        await conn.close()
    bad = subprocess.run([*run, "--json"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert json.loads(bad.stdout)["ok"] is False
