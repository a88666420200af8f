"""Progress reports: who may report, when, and percent that does not go down without a correction."""

from __future__ import annotations

from datetime import date

from shared.contracts.projects import (
    ProgressReported, ProjectAccepted, ProjectCancelled, ProjectCompleted, ReportProgress,
)
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.support import given
from tests.unit.test_projects_domain import PLANNED, PROJECTS, REPORTED_APRIL, VOTED

REPORT = ReportProgress(year=2026, code="01", reported_by="jhzjj", as_of=date(2026, 4, 30), percent=30,
                        milestones_completed=["方案设计"])
MAY = REPORT.model_copy(update={"as_of": date(2026, 5, 31), "percent": 45,
                                "milestones_completed": ["方案设计", "施工招标"], "funds_spent_wan": 800.0,
                                "narrative": "招标完成，施工队进场", "problems": "雨季临近"})
IDS = {"project_id": "project-2026-01", "year": 2026, "code": "01"}


def codes(err) -> list[str]:
    return [d["code"] for d in err.details]


def test_the_lead_unit_reports_progress():
    given(PROJECTS, VOTED, PLANNED).when(REPORT).then(REPORTED_APRIL)


def test_a_co_unit_may_report_too_and_everything_reported_is_kept():
    cmd = MAY.model_copy(update={"reported_by": "jhczj", "message_id": "jhczj-2026-05"})
    events = given(PROJECTS, VOTED, PLANNED, REPORTED_APRIL).when(cmd).then(
        ProgressReported(**IDS, **cmd.model_dump(exclude={"year", "code"})))
    assert events[0].funds_spent_wan == 800.0 and events[0].message_id == "jhczj-2026-05"


def test_a_department_neither_lead_nor_co_unit_is_refused():
    err = given(PROJECTS, VOTED, PLANNED).when(REPORT.model_copy(update={"reported_by": "jhgsz"})).raises(Forbidden)
    assert err.details == [{"field": "reported_by", "code": "not_responsible_unit", "message": err.details[0]["message"]}]


def test_no_report_before_the_plan():
    assert codes(given(PROJECTS, VOTED).when(REPORT).raises(Conflict)) == ["no_plan"]


def test_no_report_for_an_unknown_project():
    assert codes(given(PROJECTS).when(REPORT).raises(NotFound)) == ["project_not_found"]


def test_no_report_after_acceptance_or_cancellation():
    completed = ProjectCompleted(**IDS, completed_on=date(2026, 5, 2))
    accepted = ProjectAccepted(**IDS, accepted_on=date(2026, 5, 10), accepted_by="市住建局")
    full = REPORTED_APRIL.model_copy(update={"percent": 100})
    err = given(PROJECTS, VOTED, PLANNED, full, completed, accepted).when(MAY).raises(Conflict)
    assert codes(err) == ["project_accepted"]
    cancelled = ProjectCancelled(**IDS, cancelled_on=date(2026, 5, 1), reason="资金未落实")
    assert codes(given(PROJECTS, VOTED, PLANNED, cancelled).when(MAY).raises(Conflict)) == ["project_cancelled"]


def test_a_completed_project_still_reports_until_acceptance():
    full = REPORTED_APRIL.model_copy(update={"percent": 100, "milestones_completed": ["方案设计"]})
    completed = ProjectCompleted(**IDS, completed_on=date(2026, 5, 2))
    cmd = MAY.model_copy(update={"percent": 100, "milestones_completed": ["方案设计"]})
    given(PROJECTS, VOTED, PLANNED, full, completed).when(cmd).then(
        ProgressReported(**IDS, **cmd.model_dump(exclude={"year", "code"})))


def test_percent_may_not_go_down():
    err = given(PROJECTS, VOTED, PLANNED, REPORTED_APRIL).when(MAY.model_copy(update={"percent": 25})).raises(
        ValidationFailed)
    assert codes(err) == ["percent_decreased"] and err.details[0]["field"] == "percent"


def test_a_correction_with_a_reason_may_lower_percent_and_milestones():
    cmd = MAY.model_copy(update={"percent": 20, "milestones_completed": [], "correction": True,
                                 "correction_reason": "4月进度按合同额误报，按工程量更正"})
    given(PROJECTS, VOTED, PLANNED, REPORTED_APRIL).when(cmd).then(
        ProgressReported(**IDS, **cmd.model_dump(exclude={"year", "code"})))


def test_a_correction_needs_a_reason():
    cmd = MAY.model_copy(update={"percent": 20, "correction": True})
    err = given(PROJECTS, VOTED, PLANNED, REPORTED_APRIL).when(cmd).raises(ValidationFailed)
    assert codes(err) == ["correction_reason_missing"]


def test_a_completed_milestone_left_out_needs_a_correction():
    cmd = MAY.model_copy(update={"milestones_completed": ["施工招标"]})
    err = given(PROJECTS, VOTED, PLANNED, REPORTED_APRIL).when(cmd).raises(ValidationFailed)
    assert codes(err) == ["milestone_uncompleted"]


def test_milestones_completed_must_be_in_the_plan():
    cmd = MAY.model_copy(update={"milestones_completed": ["方案设计", "绿化", "方案设计"]})
    err = given(PROJECTS, VOTED, PLANNED, REPORTED_APRIL).when(cmd).raises(ValidationFailed)
    assert codes(err) == ["unknown_milestone", "duplicate_milestone"]
    assert err.details[0]["field"] == "milestones_completed.1"


def test_as_of_is_not_in_the_future_nor_outside_the_year_nor_before_the_plan():
    given_planned = given(PROJECTS, VOTED, PLANNED)
    assert codes(given_planned.when(REPORT.model_copy(update={"as_of": date(2026, 6, 2)})).raises(
        ValidationFailed)) == ["date_in_future"]
    assert codes(given(PROJECTS, VOTED, PLANNED).when(REPORT.model_copy(update={"as_of": date(2025, 12, 31)})).raises(
        ValidationFailed)) == ["date_outside_year", "date_before_plan"]
    assert codes(given(PROJECTS, VOTED, PLANNED).when(REPORT.model_copy(update={"as_of": date(2026, 2, 1)})).raises(
        ValidationFailed)) == ["date_before_plan"]


def test_as_of_does_not_go_back_before_the_latest_report():
    cmd = MAY.model_copy(update={"as_of": date(2026, 4, 1), "correction": True, "correction_reason": "更正"})
    err = given(PROJECTS, VOTED, PLANNED, REPORTED_APRIL).when(cmd).raises(ValidationFailed)
    assert codes(err) == ["as_of_before_last_report"]


def test_the_first_report_puts_the_project_in_progress():
    assert PROJECTS.fold([VOTED, PLANNED]).status == "planned"
    state = PROJECTS.fold([VOTED, PLANNED, REPORTED_APRIL])
    assert state.status == "in_progress" and state.last_report.percent == 30
