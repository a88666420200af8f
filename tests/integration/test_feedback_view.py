"""Feedback view: given events -> the ledger with derived overdue flags, item rounds, evaluation results."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.projection.views.feedback import evaluation_results, get_feedback, list_feedback
from shared.contracts.feedback import (
    EvaluationResults,
    EvaluationVoteCast,
    EvaluationVoteChanged,
    FeedbackAnswered,
    FeedbackClosed,
    FeedbackCoReplied,
    FeedbackForwarded,
    FeedbackOverdue,
    FeedbackRated,
    FeedbackReceived,
    FeedbackReopened,
    FeedbackSubmitted,
    GetFeedback,
    ListFeedback,
    ReminderSent,
)
from shared.contracts.projects import DepartmentRegistered, ProjectVoted
from shared.errors import NotFound
from tests.integration.views import Stream, apply, views  # noqa: F401 (fixture)

AT = datetime(2026, 6, 5, 2, 0, tzinfo=UTC)


def submitted(fid: str, raised_on: date = date(2026, 5, 10), **kw) -> FeedbackSubmitted:
    body = dict(feedback_id=fid, year=2026, source="delegate", project_id="project-2026-01", category="进度",
                content="施工围挡占用人行道", raised_by=["d001"], raised_on=raised_on)
    return FeedbackSubmitted(**{**body, **kw})


def forwarded(fid: str, due_on: date, co: list[str] | None = None) -> FeedbackForwarded:
    return FeedbackForwarded(feedback_id=fid, round=1, main_department="jhzjj", co_departments=co or [],
                             forwarded_on=due_on - timedelta(days=30), due_on=due_on)


def answered(fid: str, rnd: int = 1, late: bool = False) -> FeedbackAnswered:
    return FeedbackAnswered(feedback_id=fid, round=rnd, dept_code="jhzjj", answered_at=AT, result="partly_adopted",
                            content="已部分整改", planned_actions="六月底前完成", planned_by=date(2026, 6, 30), late=late)


def history():
    names = [
        Stream("project-2026-01").envelope(ProjectVoted(
            project_id="project-2026-01", year=2026, code="01", title="老旧小区改造", category="城乡建设",
            lead_unit="jhzjj", votes_for=200, votes_against=3, votes_abstain=2, voted_on=date(2026, 1, 20))),
        Stream("project-2026-02").envelope(ProjectVoted(
            project_id="project-2026-02", year=2026, code="02", title="农村饮水安全", category="农业农村",
            lead_unit="jhslj", votes_for=200, votes_against=3, votes_abstain=2, voted_on=date(2026, 1, 20))),
        Stream("department-jhzjj").envelope(DepartmentRegistered(code="jhzjj", name="景洪市住房和城乡建设局",
                                                                 short_name="市住建局")),
    ]
    a, b, c, d = (Stream(f"feedback-{x}") for x in ("a", "b", "c", "d"))
    items = [
        # a: submitted only
        a.envelope(submitted("a")),
        # b: forwarded with co-department, received, reminded, overdue as of 2026-07-01
        b.envelope(submitted("b")), b.envelope(forwarded("b", date(2026, 6, 20), co=["jhcgj"])),
        b.envelope(FeedbackReceived(feedback_id="b", round=1, dept_code="jhzjj", role="main", received_at=AT)),
        b.envelope(FeedbackReceived(feedback_id="b", round=1, dept_code="jhcgj", role="co", received_at=AT)),
        b.envelope(ReminderSent(feedback_id="b", round=1, departments=["jhzjj", "jhcgj"], due_on=date(2026, 6, 20),
                                days_left=3, as_of=date(2026, 6, 17))),
        b.envelope(FeedbackOverdue(feedback_id="b", round=1, departments=["jhzjj", "jhcgj"],
                                   due_on=date(2026, 6, 20), as_of=date(2026, 6, 21))),
        # c: answered, rated unsatisfied, reopened (round 2 due 2026-07-10), not answered yet
        c.envelope(submitted("c", raised_by=["d002"])), c.envelope(forwarded("c", date(2026, 6, 10), co=["jhcgj"])),
        c.envelope(FeedbackCoReplied(feedback_id="c", round=1, dept_code="jhcgj", answered_at=AT,
                                     result="adopted", content="配合疏导交通")),
        c.envelope(answered("c")),
        c.envelope(FeedbackRated(feedback_id="c", round=1, rated_by="d002", rating="unsatisfied", comment="未整改到位",
                                 rated_on=date(2026, 6, 10))),
        c.envelope(FeedbackReopened(feedback_id="c", round=2, main_department="jhzjj", co_departments=["jhcgj"],
                                    reopened_on=date(2026, 6, 10), due_on=date(2026, 7, 10), reason="未整改到位")),
        # d: answered late, rated satisfied, closed; project 02
        d.envelope(submitted("d", project_id="project-2026-02", raised_on=date(2026, 4, 1))),
        d.envelope(forwarded("d", date(2026, 5, 1))), d.envelope(answered("d", late=True)),
        d.envelope(FeedbackRated(feedback_id="d", round=1, rated_by="d001", rating="satisfied",
                                 rated_on=date(2026, 6, 6))),
        d.envelope(FeedbackClosed(feedback_id="d", round=1, rating="satisfied", closed_on=date(2026, 6, 6))),
    ]
    return names + items


async def query(runner, fn, q):
    async with runner.pool.acquire() as conn:
        return await fn(conn, q)


async def test_ledger_statuses_and_derived_overdue(views):
    await apply(views, history())
    result = await query(views, list_feedback, ListFeedback(year=2026, as_of=date(2026, 7, 1)))
    by_id = {i["feedback_id"]: i for i in result["items"]}
    assert result["total"] == 4
    assert {k: v["status"] for k, v in by_id.items()} == {"a": "submitted", "b": "received", "c": "reopened",
                                                          "d": "closed"}
    assert {k: v["overdue"] for k, v in by_id.items()} == {"a": False, "b": True, "c": False, "d": False}
    assert by_id["b"]["days_overdue"] == 11 and by_id["b"]["status_label"] == "已签收"
    assert by_id["c"]["round"] == 2 and by_id["c"]["due_on"] == date(2026, 7, 10) and by_id["c"]["result"] is None
    assert by_id["d"]["answered_late"] is True and by_id["d"]["rating_label"] == "满意"
    assert by_id["b"]["project_title"] == "老旧小区改造" and by_id["b"]["main_department_name"] == "市住建局"


async def test_overdue_is_as_of_the_date_asked(views):
    await apply(views, history())

    async def overdue_ids(as_of: date) -> list[str]:
        r = await query(views, list_feedback, ListFeedback(overdue=True, as_of=as_of))
        return sorted(i["feedback_id"] for i in r["items"])

    assert await overdue_ids(date(2026, 6, 20)) == []  # the due date itself is in time
    assert await overdue_ids(date(2026, 6, 21)) == ["b"]
    assert await overdue_ids(date(2026, 7, 11)) == ["b", "c"]
    not_overdue = await query(views, list_feedback, ListFeedback(overdue=False, as_of=date(2026, 7, 11)))
    assert sorted(i["feedback_id"] for i in not_overdue["items"]) == ["a", "d"]


@pytest.mark.parametrize(("q", "expected"), [
    (ListFeedback(status="closed"), ["d"]),
    (ListFeedback(project_id="project-2026-02"), ["d"]),
    (ListFeedback(department="jhcgj"), ["b", "c"]),  # co-department too
    (ListFeedback(department="jhzjj"), ["b", "c", "d"]),
    (ListFeedback(raised_by="d002"), ["c"]),
    (ListFeedback(year=2025), []),
])
async def test_ledger_filters(views, q, expected):
    await apply(views, history())
    result = await query(views, list_feedback, q)
    assert sorted(i["feedback_id"] for i in result["items"]) == expected and result["total"] == len(expected)


async def test_item_detail_has_every_round(views):
    await apply(views, history())
    detail = await query(views, get_feedback, GetFeedback(feedback_id="c", as_of=date(2026, 7, 1)))
    first, second = detail["rounds"]
    assert first["answer"]["result_label"] == "部分采纳" and first["answer"]["planned_by"] == "2026-06-30"
    assert first["co_replies"][0]["dept_code"] == "jhcgj"
    assert (first["rating"], first["rating_label"], first["rating_comment"]) == ("unsatisfied", "不满意", "未整改到位")
    assert second["round"] == 2 and second["due_on"] == date(2026, 7, 10) and second["answer"] is None
    assert detail["department_names"] == {"jhzjj": "景洪市住房和城乡建设局"}
    b = await query(views, get_feedback, GetFeedback(feedback_id="b"))
    [round_b] = b["rounds"]
    assert [r["role"] for r in round_b["receipts"]] == ["main", "co"]
    assert round_b["reminded_on"] == date(2026, 6, 17) and round_b["overdue_notified_on"] == date(2026, 6, 21)
    with pytest.raises(NotFound):
        await query(views, get_feedback, GetFeedback(feedback_id="nope"))


async def test_evaluation_results_count_current_votes(views):
    ballots = {d: Stream(f"evaluation-project-2026-01-{d}") for d in ("d001", "d002", "d003", "d004")}

    def cast(delegate, rating):
        return ballots[delegate].envelope(EvaluationVoteCast(
            project_id="project-2026-01", year=2026, delegate_id=delegate, rating=rating, voted_on=date(2026, 12, 5)))

    events = history()[:2] + [
        cast("d001", "satisfied"), cast("d002", "basically_satisfied"), cast("d003", "satisfied"),
        cast("d004", "satisfied"),
        ballots["d004"].envelope(EvaluationVoteChanged(project_id="project-2026-01", year=2026, delegate_id="d004",
                                                       rating="unsatisfied", previous="satisfied",
                                                       voted_on=date(2026, 12, 6))),
    ]
    await apply(views, events)
    result = await query(views, evaluation_results, EvaluationResults(year=2026))
    one, two = result["items"]
    assert (one["satisfied"], one["basically_satisfied"], one["unsatisfied"], one["total"]) == (2, 1, 1, 4)
    assert one["rate"] == 0.75 and one["title"] == "老旧小区改造"
    assert two["total"] == 0 and two["rate"] is None, "a project without votes is listed too"
    assert result["totals"] == {"satisfied": 2, "basically_satisfied": 1, "unsatisfied": 1, "total": 4, "rate": 0.75}
    assert result["projects"] == 2 and result["next_offset"] is None
    only = await query(views, evaluation_results, EvaluationResults(year=2026, project_id="project-2026-02"))
    assert [i["project_id"] for i in only["items"]] == ["project-2026-02"] and only["totals"]["total"] == 0
    first = await query(views, evaluation_results, EvaluationResults(year=2026, limit=1))
    assert [i["project_id"] for i in first["items"]] == [one["project_id"]] and first["next_offset"] == 1
    assert first["totals"] == result["totals"], "the year's totals cover every project, not the page"
    second = await query(views, evaluation_results, EvaluationResults(year=2026, limit=1, offset=1))
    assert second["items"] == [two] and second["next_offset"] is None


async def test_rebuilt_view_equals_incremental(views):
    events = history()
    await apply(views, events, batch=1)
    once = await query(views, list_feedback, ListFeedback(as_of=date(2026, 7, 1)))
    await apply(views, events + events, batch=7)  # redelivered: changes nothing
    assert await query(views, list_feedback, ListFeedback(as_of=date(2026, 7, 1))) == once
