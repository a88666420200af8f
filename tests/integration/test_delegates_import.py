"""Roster import through NATS: a verdict for every row, repeat imports change nothing, the CLI report."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import date
from pathlib import Path

from services.delegates.roster import read_roster
from shared.contracts.delegates import SERVICE, ImportRoster, RosterRow
from shared.rpc import RpcClient
from shared.subjects import command_subject
from shared.timeutil import local_date
from tests.integration.test_delegates_service import service  # noqa: F401 (fixture)

DATA = Path(__file__).parents[1] / "data" / "delegates"
SUBJECT = command_subject(SERVICE, ImportRoster.name)


def statuses(reply: dict) -> dict[int, str]:
    return {r["row"]: r["status"] for r in reply["rows"]}


async def test_every_csv_row_gets_a_verdict_and_a_repeat_changes_nothing(service, nc):  # noqa: F811
    client = RpcClient(nc)
    roster = read_roster((DATA / "roster.csv").read_bytes(), "roster.csv")
    assert roster.ignored_columns == ["序号", "备注"]
    first = await client.call(SUBJECT, ImportRoster(rows=roster.rows), actor="office:test")
    assert statuses(first) == {2: "created", 3: "created", 4: "created", 5: "error", 6: "error", 7: "error",
                               9: "created"}
    assert first["summary"] == {"created": 4, "updated": 0, "unchanged": 0, "error": 3}
    errors = {r["row"]: {d["field"] for d in r["error"]["details"]} for r in first["rows"] if r["status"] == "error"}
    assert errors == {5: {"ethnicity"}, 6: {"name", "level", "term_start", "home_township"}, 7: {"delegate_id"}}

    again = await client.call(SUBJECT, ImportRoster(rows=roster.rows))
    assert again["summary"] == {"created": 0, "updated": 0, "unchanged": 4, "error": 3}
    events = await service.pool.fetchval("SELECT count(*) FROM events")
    assert events == 4, "a repeated import records nothing"

    moved = [RosterRow(row=2, fields={**roster.rows[0].fields, "phone": "13908819999"})]
    updated = await client.call(SUBJECT, ImportRoster(rows=moved, reason="电话变更"))
    assert statuses(updated) == {2: "updated"}
    stored = await service.store.load("delegate-r001")
    assert stored[-1].type == "DelegateDetailsChanged" and stored[-1].body["reason"] == "电话变更"
    assert local_date(stored[0].occurred_at) == date(2022, 1, 10), "registered as of the term's start"


async def test_xlsx_roster_and_rows_keyed_by_column_headers(service, nc):  # noqa: F811
    client = RpcClient(nc)
    roster = read_roster((DATA / "roster.xlsx").read_bytes(), "roster.xlsx")
    reply = await client.call(SUBJECT, ImportRoster(rows=roster.rows))
    assert statuses(reply) == {2: "created", 3: "created", 5: "error"}
    x001 = (await service.store.load("delegate-x001"))[0].body
    assert x001["phone"] == "13988880001" and x001["home"]["lat"] == 21.6101 and x001["term_start"] == "2022-01-10"
    # The gateway's upload sends the file's own headers as keys.
    raw = RosterRow(row=2, fields={"代表编号": "h001", "姓名": "白云", "性别": "女", "民族": "哈尼族",
                                   "代表层级": "市级", "选区": "景哈哈尼族乡", "任期开始": "2022-01-10", "备注": "x"})
    assert statuses(await client.call(SUBJECT, ImportRoster(rows=[raw]))) == {2: "created"}


async def test_cli_prints_the_row_level_report(service, settings):  # noqa: F811
    env = {**os.environ, "NATS_URL": settings.nats_url}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from shared.cli import main; main()", "import-delegates", str(DATA / "roster.csv"),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert proc.returncode == 1, (text, err.decode())  # some rows were refused
    assert "第 2 行  r001 岩温香: 新登记 (created)" in text
    assert "第 7 行  r001 岩温香: 有误 (error)" in text and "与第 2 行重复" in text
    assert "ethnicity" in text and "合计 / total: 新登记 created 4" in text
