"""Counts the appliers keep for fast queries (record scores, evaluation votes) always equal the rows they count."""

from __future__ import annotations

from datetime import date

from services.projection.runner import LIVE_SCHEMA
from services.projection.supervision_query import get_supervision
from services.projection.views.record import get_record, rank_records
from shared.contracts import activities as act
from shared.contracts import delegates as dlg
from shared.contracts import feedback as fb
from shared.contracts.projection import GetRecord, GetSupervision, RankRecords
from tests.integration.test_view_record import history
from tests.integration.test_view_supervision import year_history
from tests.integration.views import Stream, apply, views  # noqa: F401 (fixture)


async def _rows(runner, sql: str) -> set[tuple]:
    async with runner.pool.acquire() as conn:
        return {tuple(r) for r in await conn.fetch(sql.format(schema=LIVE_SCHEMA))}


async def test_record_counts_follow_items_through_corrections_cancellations_and_releases(views):
    a, duty, f = Stream("activity-a1"), Stream("supervision-p1"), Stream("feedback-f1")
    a.version, duty.version, f.version = 6, 1, 2  # after test_view_record's history
    events = history() + [
        f.envelope(fb.FeedbackAnswered(feedback_id="f1", round=2, dept_code="jhzjj", answered_at=history()[0].occurred_at,
                                       result="not_adopted", content="无法调整")),
        duty.envelope(dlg.ContactDutyReleased(project_id="p1", year=2026, delegate_id="d001", reason="调离")),
        a.envelope(act.ActivityCancelled(activity_id="a1", reason="暴雨")),
    ]
    await apply(views, events + events, batch=4)  # redelivered too: counted once
    items = await _rows(views, "SELECT delegate_id, year, item, count(*)::int FROM {schema}.pr_items GROUP BY 1, 2, 3")
    assert items == {("d001", 2026, "contact_log", 1), ("d001", 2026, "opinion", 1)}
    # The kept scores follow: what is left scores contact log 1 + opinion 2; every other gain was taken
    # back (present, walk-in, duty, adopted), whatever the redeliveries.
    scores = await _rows(views, "SELECT delegate_id, year, score::float FROM {schema}.pr_scores WHERE score <> 0")
    assert scores == {("d001", 2026, 3.0)}
    async with views.pool.acquire() as conn:
        rec = await get_record(conn, GetRecord(delegate_id="d001", year=2026))
        city = await rank_records(conn, RankRecords(year=2026))
    assert rec["score"] == 3.0 and rec["rank_city"] == 1 and rec["city_size"] == 3  # contact log 1 + opinion 2
    assert [(i["delegate_id"], i["score"], i["rank"]) for i in city["items"]] == [
        ("d001", 3.0, 1), ("d002", 0.0, 2), ("d003", 0.0, 2)]
    assert city["total"] == 3


async def test_vote_counts_follow_cast_changed_and_redelivered_votes(views):
    e1 = Stream("evaluation-project-2026-01-d003")
    day = date(2026, 6, 21)
    events = year_history() + [
        e1.envelope(fb.EvaluationVoteCast(project_id="project-2026-01", year=2026, delegate_id="d003",
                                          rating="unsatisfied", voted_on=day)),
        e1.envelope(fb.EvaluationVoteChanged(project_id="project-2026-01", year=2026, delegate_id="d003",
                                             rating="satisfied", previous="unsatisfied", voted_on=day)),
        e1.envelope(fb.EvaluationVoteChanged(project_id="project-2026-01", year=2026, delegate_id="d003",
                                             rating="satisfied", previous="satisfied", voted_on=day)),
    ]
    await apply(views, events + events, batch=3)
    votes = await _rows(views, "SELECT project_id, rating, count(*)::int FROM {schema}.sv_evaluation GROUP BY 1, 2")
    counted = await _rows(views, "SELECT project_id, rating, n FROM {schema}.sv_votes WHERE n <> 0")
    assert counted == votes and sum(n for *_, n in votes) == 3
    async with views.pool.acquire() as conn:
        view = await get_supervision(conn, GetSupervision(project_id="project-2026-01"))
    assert view["evaluation"] == {"satisfied": 2, "basically_satisfied": 0, "unsatisfied": 1, "total": 3,
                                  "rate": 66.7}
