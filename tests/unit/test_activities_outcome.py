"""Activity decider: outcome (minutes, findings, report, contribution) and opinions as OpinionRaised."""

from __future__ import annotations

from datetime import date, timedelta

from shared.contracts.activities import (
    AttendanceRecorded,
    ContributionResult,
    OpinionInput,
    OpinionRaised,
    OutcomeRecorded,
    RaiseOpinions,
    RecordOutcome,
    ResearchReport,
)
from shared.errors import Conflict, ValidationFailed
from tests.support import given
from tests.unit.activities_data import ACTIVITIES, INVITED, P1, P2, SCHEDULED, STARTS, scheduled

ABSENT = AttendanceRecorded(activity_id="insp-1", delegate_id="d3", status="absent")
TWO = [OpinionInput(category="进度", content="加快雨污分流管网施工进度", raised_by=["d1", "d2"]),
       OpinionInput(category="群众诉求", content="施工围挡影响老人出行，应增设临时通道", raised_by=["d2"])]


def outcome(**changes) -> RecordOutcome:
    return RecordOutcome(activity_id="insp-1", minutes="听取住建局汇报，实地查看三个小区。", **changes)


def opinion(n: int, content: str, raised_by: list[str], category: str, project_id: str = P1) -> OpinionRaised:
    return OpinionRaised(activity_id="insp-1", opinion_id=f"op-{n}", year=2026, project_id=project_id,
                         category=category, content=content, raised_by=raised_by, group_id="g1",
                         raised_on=date(2026, 5, 20))


def fields(err) -> set[str]:
    return {d["field"] for d in err.details}


def test_inspection_outcome_with_two_opinions_emits_two_opinion_raised():
    cmd = outcome(findings=["部分小区管网未按计划开工"], opinions=TWO)
    given(ACTIVITIES, SCHEDULED, INVITED, ABSENT).when(cmd).then(
        OutcomeRecorded(activity_id="insp-1", year=2026, kind="inspection", minutes=cmd.minutes,
                        findings=["部分小区管网未按计划开工"]),
        opinion(1, "加快雨污分流管网施工进度", ["d1", "d2"], "进度"),
        opinion(2, "施工围挡影响老人出行，应增设临时通道", ["d2"], "群众诉求"),
    )


def test_outcome_only_after_the_activity_started():
    given(ACTIVITIES, SCHEDULED, INVITED).when(outcome(), now=STARTS - timedelta(hours=1)).raises(Conflict)


def test_outcome_is_recorded_once():
    done = OutcomeRecorded(activity_id="insp-1", year=2026, kind="inspection", minutes="纪要")
    given(ACTIVITIES, SCHEDULED, INVITED, done).when(outcome()).raises(Conflict)


def test_opinions_added_later_continue_the_numbering():
    done = OutcomeRecorded(activity_id="insp-1", year=2026, kind="inspection", minutes="纪要")
    first = opinion(1, "加快雨污分流管网施工进度", ["d1", "d2"], "进度")
    cmd = RaiseOpinions(activity_id="insp-1", opinions=[TWO[1]])
    given(ACTIVITIES, SCHEDULED, INVITED, done, first).when(cmd).then(
        opinion(2, "施工围挡影响老人出行，应增设临时通道", ["d2"], "群众诉求"))


def test_raising_opinions_only_after_the_activity_started():
    cmd = RaiseOpinions(activity_id="insp-1", opinions=TWO)
    given(ACTIVITIES, SCHEDULED, INVITED).when(cmd, now=STARTS - timedelta(hours=1)).raises(Conflict)


def test_opinions_are_raised_by_participants_who_were_there():
    cmd = RaiseOpinions(activity_id="insp-1", opinions=[
        OpinionInput(category="质量", content="增加公示牌", raised_by=["d3"]),  # recorded absent
        OpinionInput(category="质量", content="增加公示牌", raised_by=["d4"]),  # neither invited nor a walk-in
        OpinionInput(category="质量", content="增加公示牌", raised_by=["d1", "d1"]),
    ])
    err = given(ACTIVITIES, SCHEDULED, INVITED, ABSENT).when(cmd).raises(ValidationFailed)
    assert fields(err) == {"opinions.0.raised_by.0", "opinions.1.raised_by.0", "opinions.2.raised_by"}


def test_a_walk_in_may_raise_opinions():
    walk_in = AttendanceRecorded(activity_id="insp-1", delegate_id="d4", status="present", invited=False)
    cmd = RaiseOpinions(activity_id="insp-1", opinions=[OpinionInput(category="质量", content="增加公示牌", raised_by=["d4"])])
    assert given(ACTIVITIES, SCHEDULED, INVITED, walk_in).when(cmd)._decide()[0].raised_by == ["d4"]


def test_opinion_project_must_be_one_of_the_activitys_and_named_when_several():
    other = RaiseOpinions(activity_id="insp-1", opinions=[OpinionInput(category="质量", content="增加公示牌", raised_by=["d1"],
                                                                       project_id=P2)])
    assert fields(given(ACTIVITIES, SCHEDULED, INVITED).when(other).raises(ValidationFailed)) == {"opinions.0.project_id"}
    two_projects = scheduled(project_ids=[P1, P2])
    unnamed = RaiseOpinions(activity_id="insp-1", opinions=[OpinionInput(category="质量", content="增加公示牌", raised_by=["d1"])])
    given(ACTIVITIES, two_projects, INVITED).when(unnamed).raises(ValidationFailed)
    named = RaiseOpinions(activity_id="insp-1", opinions=[OpinionInput(category="质量", content="增加公示牌", raised_by=["d1"],
                                                                       project_id=P2)])
    assert given(ACTIVITIES, two_projects, INVITED).when(named)._decide()[0].project_id == P2


REPORT = ResearchReport(title="关于污水管网建设进展缓慢的调研报告", summary="征地拆迁协调滞后。", recommendations=["成立专班"])
HELP = ContributionResult(helped="协调村民让出施工便道", resolved=["施工便道问题"])


def test_research_carries_a_report_and_only_research_does():
    research = scheduled(kind="research")
    given(ACTIVITIES, research, INVITED).when(outcome()).raises(ValidationFailed)
    events = given(ACTIVITIES, research, INVITED).when(outcome(report=REPORT))._decide()
    assert events[0].report == REPORT
    assert fields(given(ACTIVITIES, SCHEDULED, INVITED).when(outcome(report=REPORT)).raises(ValidationFailed)) == {"report"}


def test_contribution_records_what_was_helped_and_only_contribution_does():
    contribution = scheduled(kind="contribution")
    given(ACTIVITIES, contribution, INVITED).when(outcome()).raises(ValidationFailed)
    assert given(ACTIVITIES, contribution, INVITED).when(outcome(contribution=HELP))._decide()[0].contribution == HELP
    assert fields(given(ACTIVITIES, SCHEDULED, INVITED).when(outcome(contribution=HELP)).raises(
        ValidationFailed)) == {"contribution"}
