"""Performance record: given events -> items with evidence, rubric score, ranks in group and city."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.projection.views.record import get_record, rank_records
from shared.contracts import activities as act
from shared.contracts import delegates as dlg
from shared.contracts import feedback as fb
from shared.contracts.projection import GetRecord, RankRecords
from tests.integration.views import Stream, apply, views  # noqa: F401 (fixture)

START = datetime(2026, 5, 10, 1, 0, tzinfo=UTC)


def history():
    events = []
    for i, (name, group) in enumerate([("岩温", "g01"), ("玉香", "g01"), ("李明", "g02")], start=1):
        d, g = Stream(f"delegate-d00{i}"), Stream(f"member-d00{i}")
        events.append(d.envelope(dlg.DelegateRegistered(delegate_id=f"d00{i}", name=name, gender="男",
                                                        ethnicity="傣族", level="city", constituency="嘎洒镇",
                                                        term_start=date(2022, 1, 1))))
        events.append(g.envelope(dlg.GroupMemberJoined(group_id=group, year=2026, delegate_id=f"d00{i}")))
    a = Stream("activity-a1")
    events += [
        a.envelope(act.ActivityScheduled(activity_id="a1", year=2026, kind="inspection", title="视察", project_ids=["p1"],
                                         group_ids=["g01"], organiser="g01", starts_at=START,
                                         ends_at=START + timedelta(hours=2), place="嘎洒镇", phase="supervision")),
        a.envelope(act.DelegatesInvited(activity_id="a1", delegate_ids=["d001", "d002"])),
        a.envelope(act.AttendanceRecorded(activity_id="a1", delegate_id="d001", status="present")),
        a.envelope(act.AttendanceRecorded(activity_id="a1", delegate_id="d002", status="absent")),
        a.envelope(act.AttendanceCorrected(activity_id="a1", delegate_id="d002", previous_status="absent",
                                           status="excused", excuse_reason="出差", reason="补交请假条")),
        a.envelope(act.AttendanceRecorded(activity_id="a1", delegate_id="d003", status="present", invited=False)),
    ]
    cp = Stream("contactpoint-cp1")
    events.append(cp.envelope(act.ContactLogged(contact_point_id="cp1", log_id="l1", project_id="p1", year=2026,
                                                delegate_id="d001", contacted_on=date(2026, 5, 20))))
    f = Stream("feedback-f1")
    events += [
        f.envelope(fb.FeedbackSubmitted(feedback_id="f1", year=2026, source="delegate", category="施工",
                                        content="夜间施工扰民", raised_by=["d001"], raised_on=date(2026, 5, 21))),
        f.envelope(fb.FeedbackAnswered(feedback_id="f1", round=1, dept_code="jhzjj", answered_at=START, result="adopted",
                                       content="已调整施工时间")),
    ]
    duty = Stream("supervision-p1")
    events.append(duty.envelope(dlg.ContactDutyAssigned(project_id="p1", year=2026, delegate_ids=["d001"])))
    return events


async def test_record_items_score_and_evidence(views):
    events = history()
    await apply(views, events)
    async with views.pool.acquire() as conn:
        rec = await get_record(conn, GetRecord(delegate_id="d001", year=2026))
    counts = {i["item"]: i["count"] for i in rec["items"]}
    assert counts == {"present": 1, "excused": 0, "absent": 0, "walk_in": 0, "contact_log": 1, "contact_duty": 1,
                      "opinion": 1, "opinion_adopted": 1, "evaluation_vote": 0}
    # present 2 + contact log 1 + duty 2 + opinion 2 + adopted 1
    assert rec["score"] == 8.0 and rec["rank_group"] == 1 and rec["rank_city"] == 1
    present = next(i for i in rec["items"] if i["item"] == "present")
    assert present["weight"] == 2.0 and present["evidence"][0]["event_id"] == events[8].event_id
    assert rec["attendance_by_kind"]["inspection"] == {"invited": 1, "present": 1, "absent": 0, "excused": 0}


async def test_corrected_attendance_and_walk_in(views):
    await apply(views, history())
    async with views.pool.acquire() as conn:
        d2 = await get_record(conn, GetRecord(delegate_id="d002", year=2026))
        d3 = await get_record(conn, GetRecord(delegate_id="d003", year=2026))
    assert {i["item"]: i["count"] for i in d2["items"]}["excused"] == 1 and d2["score"] == 0.0
    assert {i["item"]: i["count"] for i in d3["items"]}["walk_in"] == 1 and d3["rank_group"] == 1


async def test_ranks_in_group_and_city(views):
    await apply(views, history())
    async with views.pool.acquire() as conn:
        group = await rank_records(conn, RankRecords(year=2026, group_id="g01"))
        city = await rank_records(conn, RankRecords(year=2026))
    assert [(i["delegate_id"], i["rank"]) for i in group["items"]] == [("d001", 1), ("d002", 2)]
    assert [(i["delegate_id"], i["rank"]) for i in city["items"]] == [("d001", 1), ("d003", 2), ("d002", 3)]


async def test_redelivery_changes_nothing(views):
    events = history()
    await apply(views, events)
    async with views.pool.acquire() as conn:
        once = await get_record(conn, GetRecord(delegate_id="d001", year=2026))
    await apply(views, events + events, batch=5)
    async with views.pool.acquire() as conn:
        assert await get_record(conn, GetRecord(delegate_id="d001", year=2026)) == once


# Every active delegate with a kept score, counted per year and score, straight from the tables.
COUNTED = """SELECT s.year, s.score, count(*) AS n FROM pr_scores s JOIN pr_delegates d USING (delegate_id)
             WHERE d.active GROUP BY 1, 2 HAVING count(*) > 0 ORDER BY 1, 2"""
# A city rank by counting every active delegate (what the kept counts replace).
RANK_BY_COUNTING = """SELECT 1 + count(*) FILTER (WHERE coalesce(s.score, 0) >
                                  coalesce((SELECT score FROM pr_scores WHERE year = $1 AND delegate_id = $2), 0))
                      FROM pr_delegates d LEFT JOIN pr_scores s ON s.year = $1 AND s.delegate_id = d.delegate_id
                      WHERE d.active"""


@pytest.mark.parametrize("batch", [1, 4, 50])  # batches let statements on different tables pass each other
async def test_kept_score_counts_rank_like_counting_every_delegate(views, batch):
    """Items before the delegate is known, an absence (a score below 0), a term that ends, a delegate
    with no item (0): the kept counts equal a count of the tables, and every city rank a full count."""
    d4, d5, a2, d2 = Stream("delegate-d004"), Stream("delegate-d005"), Stream("activity-a2"), Stream("delegate-d002")
    d2.version = 1  # registered in history()
    later = START + timedelta(days=3)
    registered = dict(gender="女", ethnicity="哈尼族", level="city", constituency="勐龙镇", term_start=date(2022, 1, 1))
    events = history() + [
        a2.envelope(act.ActivityScheduled(activity_id="a2", year=2026, kind="research", title="调研", project_ids=["p1"],
                                          group_ids=["g02"], organiser="g02", starts_at=later,
                                          ends_at=later + timedelta(hours=2), place="勐龙镇", phase="supervision")),
        a2.envelope(act.DelegatesInvited(activity_id="a2", delegate_ids=["d003", "d004"])),
        a2.envelope(act.AttendanceRecorded(activity_id="a2", delegate_id="d004", status="absent")),  # not known yet
        d4.envelope(dlg.DelegateRegistered(delegate_id="d004", name="玉罕", **registered)),
        d5.envelope(dlg.DelegateRegistered(delegate_id="d005", name="刀建", **registered)),  # no item: 0
        d2.envelope(dlg.DelegateTermEnded(delegate_id="d002", ended_on=date(2026, 6, 1), reason="调离")),
        a2.envelope(act.AttendanceRecorded(activity_id="a2", delegate_id="d003", status="present")),
    ]
    await apply(views, events, batch=batch)
    async with views.pool.acquire() as conn:
        kept = await conn.fetch("SELECT year, score, n FROM pr_score_counts WHERE n <> 0 ORDER BY 1, 2")
        assert [tuple(r) for r in kept] == [tuple(r) for r in await conn.fetch(COUNTED)]
        assert await conn.fetchval("SELECT n FROM pr_active") == \
            await conn.fetchval("SELECT count(*) FROM pr_delegates WHERE active") == 4
        for delegate_id in ("d001", "d003", "d004", "d005"):
            record = await get_record(conn, GetRecord(delegate_id=delegate_id, year=2026))
            assert record["city_size"] == 4
            assert record["rank_city"] == await conn.fetchval(RANK_BY_COUNTING, 2026, delegate_id), delegate_id
        assert (await get_record(conn, GetRecord(delegate_id="d004", year=2026)))["rank_city"] == 4
        # The city's ranking: its first two score above 0 (taken from the kept scores alone), the rest
        # reach the zeros and the absence (ranked over every delegate): the same order and ranks.
        everyone = await rank_records(conn, RankRecords(year=2026))
        assert [(i["delegate_id"], i["rank"]) for i in everyone["items"]] == \
            [("d001", 1), ("d003", 2), ("d005", 3), ("d004", 4)] and everyone["total"] == 4
        for limit in (1, 2, 3):
            top = await rank_records(conn, RankRecords(year=2026, limit=limit))
            assert top["items"] == everyone["items"][:limit] and top["total"] == 4, limit
