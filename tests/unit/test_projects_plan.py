"""Implementation plans: milestones, weights, lateness, revisions with reasons (given/when/then)."""

from __future__ import annotations

from datetime import date

import pydantic
import pytest

from shared.contracts.projects import Milestone, PlanRevised, ProjectCancelled, RevisePlan, SubmitPlan
from shared.errors import Conflict, NotFound, ValidationFailed
from tests.support import given
from tests.unit.test_projects_domain import MILESTONES, PLANNED, PROJECTS, REPORTED_APRIL, VOTED

SUBMIT = SubmitPlan(year=2026, code="01", milestones=MILESTONES, target_completion=date(2026, 11, 30),
                    submitted_on=date(2026, 2, 10))
REVISE = RevisePlan(year=2026, code="01", milestones=[*MILESTONES[:2], MILESTONES[2].model_copy(update={
    "due": date(2026, 11, 15)}), MILESTONES[3]], target_completion=date(2026, 11, 30),
    revised_on=date(2026, 5, 10), reason="雨季延误主体施工")


def codes(err) -> list[str]:
    return [d["code"] for d in err.details]


def test_a_plan_submitted_by_the_deadline_is_on_time():
    given(PROJECTS, VOTED).when(SUBMIT).then(PLANNED)


def test_a_plan_submitted_after_the_deadline_is_recorded_as_late():
    events = given(PROJECTS, VOTED).when(SUBMIT.model_copy(update={"submitted_on": date(2026, 2, 25)})).then(
        PLANNED.model_copy(update={"submitted_on": date(2026, 2, 25), "late": True, "days_late": 5}))
    assert events[0].plan_deadline == date(2026, 2, 20)


def test_milestone_weights_must_sum_to_100():
    cmd = SUBMIT.model_copy(update={"milestones": MILESTONES[:3]})
    assert codes(given(PROJECTS, VOTED).when(cmd).raises(ValidationFailed)) == ["weights_not_100"]


def test_milestone_names_are_unique_and_due_by_the_target_inside_the_year():
    bad = [MILESTONES[0], MILESTONES[0].model_copy(update={"due": date(2027, 1, 10), "weight": 80})]
    err = given(PROJECTS, VOTED).when(SUBMIT.model_copy(update={"milestones": bad})).raises(ValidationFailed)
    assert codes(err) == ["duplicate_milestone", "date_outside_year", "milestone_after_target"]


def test_a_plan_needs_a_milestone_and_positive_weights():
    with pytest.raises(pydantic.ValidationError):
        SUBMIT.model_validate({**SUBMIT.model_dump(), "milestones": []})
    with pytest.raises(pydantic.ValidationError):
        Milestone(name="x", due=date(2026, 3, 1), weight=0)


def test_a_plan_cannot_be_dated_before_the_vote_or_in_the_future():
    err = given(PROJECTS, VOTED).when(SUBMIT.model_copy(update={"submitted_on": date(2026, 1, 5)})).raises(
        ValidationFailed)
    assert codes(err) == ["date_before_vote"]
    err = given(PROJECTS, VOTED).when(SUBMIT.model_copy(update={"submitted_on": date(2026, 6, 20)})).raises(
        ValidationFailed)
    assert codes(err) == ["date_in_future"]


def test_a_plan_needs_a_registered_project():
    assert codes(given(PROJECTS).when(SUBMIT).raises(NotFound)) == ["project_not_found"]


def test_a_second_plan_must_be_a_revision():
    assert codes(given(PROJECTS, VOTED, PLANNED).when(SUBMIT).raises(Conflict)) == ["plan_exists"]


def test_no_plan_for_a_cancelled_project():
    cancelled = ProjectCancelled(project_id="project-2026-01", year=2026, code="01", cancelled_on=date(2026, 2, 1),
                                 reason="选址调整")
    assert codes(given(PROJECTS, VOTED, cancelled).when(SUBMIT).raises(Conflict)) == ["project_cancelled"]


def test_a_revision_keeps_the_old_plan_in_the_history_and_carries_its_reason():
    revised = PlanRevised(project_id="project-2026-01", year=2026, code="01", revision=2, milestones=REVISE.milestones,
                          target_completion=date(2026, 11, 30), revised_on=date(2026, 5, 10), reason="雨季延误主体施工")
    given(PROJECTS, VOTED, PLANNED).when(REVISE).then(revised)
    state = PROJECTS.fold([VOTED, PLANNED, revised])
    assert state.plan.revision == 2 and state.plan.first_submitted_on == date(2026, 2, 10)


def test_a_revision_needs_a_reason():
    with pytest.raises(pydantic.ValidationError):
        RevisePlan.model_validate({**REVISE.model_dump(), "reason": ""})


def test_a_revision_needs_a_plan_and_a_change():
    assert codes(given(PROJECTS, VOTED).when(REVISE).raises(Conflict)) == ["no_plan"]
    same = REVISE.model_copy(update={"milestones": MILESTONES})
    assert codes(given(PROJECTS, VOTED, PLANNED).when(same).raises(ValidationFailed)) == ["no_change"]


def test_a_revision_cannot_drop_a_milestone_reported_completed():
    cmd = REVISE.model_copy(update={"milestones": [MILESTONES[1].model_copy(update={"weight": 40}),
                                                   MILESTONES[2], MILESTONES[3]]})
    err = given(PROJECTS, VOTED, PLANNED, REPORTED_APRIL).when(cmd).raises(ValidationFailed)
    assert codes(err) == ["completed_milestone_removed"]


def test_a_revision_is_not_dated_before_the_plan_in_force():
    cmd = REVISE.model_copy(update={"revised_on": date(2026, 2, 1)})
    assert codes(given(PROJECTS, VOTED, PLANNED).when(cmd).raises(ValidationFailed)) == ["date_before_plan"]
