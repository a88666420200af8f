"""Counts kept by appliers (group members, contact logs per point) always equal the rows they count."""

from __future__ import annotations

from datetime import date

from services.projection.runner import LIVE_SCHEMA
from services.projection.views.activities import list_contact_logs, list_contact_points
from services.projection.views.delegates import list_groups
from shared.contracts import activities as act
from shared.contracts import delegates as dlg
from tests.integration.views import Stream, apply, views  # noqa: F401 (fixture)


async def _rows(runner, sql: str) -> set[tuple]:
    async with runner.pool.acquire() as conn:
        return {tuple(r) for r in await conn.fetch(sql.format(schema=LIVE_SCHEMA))}


def _membership() -> list:
    g = Stream("group-gasa-2026")
    formed = g.envelope(dlg.GroupFormed(group_id="gasa-2026", year=2026, name="嘎洒镇代表小组", kind="township",
                                        township="嘎洒镇"))
    return [formed,
            *(g.envelope(dlg.GroupMemberJoined(group_id="gasa-2026", year=2026, delegate_id=d)) for d in ("d1", "d2", "d3")),
            g.envelope(dlg.GroupLeaderAppointed(group_id="gasa-2026", year=2026, delegate_id="d2")),
            g.envelope(dlg.GroupMemberLeft(group_id="gasa-2026", year=2026, delegate_id="d2", reason="调整")),
            g.envelope(dlg.GroupMemberLeft(group_id="gasa-2026", year=2026, delegate_id="d9", reason="从未加入")),
            g.envelope(dlg.GroupMemberJoined(group_id="gasa-2026", year=2026, delegate_id="d2")),
            g.envelope(dlg.GroupMemberLeft(group_id="gasa-2026", year=2026, delegate_id="d3", reason="调离"))]


async def test_member_count_follows_joins_leaves_and_redelivery(views):
    events = _membership()
    await apply(views, events + events, batch=3)  # redelivered too: counted once
    members = await _rows(views, "SELECT group_id, count(*)::int FROM {schema}.delegate_group_members GROUP BY 1")
    kept = await _rows(views, "SELECT group_id, member_count FROM {schema}.delegate_groups")
    assert kept == members == {("gasa-2026", 2)}
    async with views.pool.acquire() as conn:
        group = (await list_groups(conn, dlg.ListGroups(group_id="gasa-2026", members=10)))["items"][0]
    assert group["members"] == ["d1", "d2"] and group["member_count"] == 2
    assert group["leader_id"] is None, "the leader left (joining again does not make them leader)"


async def test_a_membership_already_there_is_not_counted_again(views):
    g = Stream("group-g2-2026")
    await apply(views, [g.envelope(dlg.GroupFormed(group_id="g2-2026", year=2026, name="二组", kind="township",
                                                   township="嘎洒镇")),
                        g.envelope(dlg.GroupMemberJoined(group_id="g2-2026", year=2026, delegate_id="d1"))])
    # A second stream (e.g. an import replayed under another id) repeats the membership.
    again = Stream("group-g2-2026-replay")
    await apply(views, [again.envelope(dlg.GroupMemberJoined(group_id="g2-2026", year=2026, delegate_id="d1"))])
    assert await _rows(views, "SELECT group_id, member_count FROM {schema}.delegate_groups") == {("g2-2026", 1)}


def _logs() -> list:
    cp, other = Stream("contactpoint-cp1"), Stream("contactpoint-cp2")
    events = [cp.envelope(act.ContactPointEstablished(contact_point_id="cp1", project_id="p1", year=2026, place="曼听",
                                                      delegate_ids=["d1"], established_on=date(2026, 3, 1))),
              other.envelope(act.ContactPointEstablished(contact_point_id="cp2", project_id="p2", year=2026,
                                                         place="嘎洒", delegate_ids=["d2"],
                                                         established_on=date(2026, 3, 2)))]
    for i in range(7):
        stream, point, project = (cp, "cp1", "p1") if i % 3 else (other, "cp2", "p2")
        events.append(stream.envelope(act.ContactLogged(
            contact_point_id=point, log_id=f"l{i}", project_id=project, year=2026 if i < 6 else 2025,
            delegate_id=f"d{i % 2 + 1}", contacted_on=date(2026, 4, 1 + i) if i < 6 else date(2025, 11, 1))))
    return events


async def test_contact_log_counts_equal_the_logs_through_redelivery(views):
    events = _logs()
    await apply(views, events + events, batch=4)
    # The same log arriving in another stream's delivery (a replayed import) is not counted twice either.
    replay = Stream("contactpoint-cp1-replay")
    await apply(views, [replay.envelope(act.ContactLogged.model_validate(events[3].body))])
    logs = await _rows(views, """SELECT contact_point_id, project_id, year, count(*)::int, max(contacted_on)
                                 FROM {schema}.act_contact_logs GROUP BY 1, 2, 3""")
    kept = await _rows(views, "SELECT contact_point_id, project_id, year, logs, last_contact_on "
                              "FROM {schema}.act_contact_log_counts")
    assert kept == logs and sum(n for *_, n, _ in logs) == 7
    async with views.pool.acquire() as conn:
        totals = {}
        for filters in ({}, {"year": 2026}, {"year": 2025}, {"project_id": "p1"}, {"contact_point_id": "cp2"},
                        {"delegate_id": "d1"}, {"delegate_id": "d2", "year": 2026}, {"project_id": "p9"}):
            answer = await list_contact_logs(conn, act.ListContactLogs(**filters))
            counted = await conn.fetchval(
                "SELECT count(*) FROM act_contact_logs WHERE " + (" AND ".join(
                    f"{k} = ${i + 1}" for i, k in enumerate(filters)) or "TRUE"), *filters.values())
            assert answer["total"] == counted == len(answer["items"]), filters
            totals[tuple(filters.items())] = counted
        points = await list_contact_points(conn, act.ListContactPoints(year=2026))
    assert totals[()] == 7 and totals[(("year", 2025),)] == 1 and totals[(("project_id", "p9"),)] == 0
    assert [(p["contact_point_id"], p["logs"], p["last_contact_on"]) for p in points["items"]] == [
        ("cp1", 4, date(2026, 4, 6)), ("cp2", 3, date(2026, 4, 4))], "every year's logs of the point"
    assert points["total"] == 2
