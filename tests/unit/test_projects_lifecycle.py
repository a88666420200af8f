"""Obstacles, completion, acceptance (验收) and cancellation (given/when/then)."""

from __future__ import annotations

from datetime import date

import pydantic
import pytest

from shared.contracts.projects import (
    AcceptProject, CancelProject, CompleteProject, ObstacleReported, ObstacleResolved, ProjectAccepted,
    ProjectCancelled, ProjectCompleted, ReportObstacle, ResolveObstacle,
)
from shared.errors import Conflict, NotFound, ValidationFailed
from tests.support import given
from tests.unit.test_projects_domain import PLANNED, PROJECTS, REPORTED_APRIL, VOTED

IDS = {"project_id": "project-2026-01", "year": 2026, "code": "01"}
OBSTACLE = ReportObstacle(year=2026, code="01", kind="resistance", description="部分住户不同意拆除违建",
                          reported_on=date(2026, 5, 6), source="jhzjj")
OBSTRUCTED = ObstacleReported(**IDS, obstacle_id="o1", kind="resistance", description="部分住户不同意拆除违建",
                              reported_on=date(2026, 5, 6), source="jhzjj")
RESOLVE = ResolveObstacle(year=2026, code="01", obstacle_id="o1", resolved_on=date(2026, 5, 20),
                          resolution="代表入户做工作，住户同意")
RESOLVED = ObstacleResolved(**IDS, obstacle_id="o1", resolved_on=date(2026, 5, 20), resolution="代表入户做工作，住户同意")
FULL = REPORTED_APRIL.model_copy(update={"as_of": date(2026, 5, 25), "percent": 100})
COMPLETE = CompleteProject(year=2026, code="01", completed_on=date(2026, 5, 26), summary="全部完工")
COMPLETED = ProjectCompleted(**IDS, completed_on=date(2026, 5, 26), summary="全部完工")
ACCEPT = AcceptProject(year=2026, code="01", accepted_on=date(2026, 5, 30), accepted_by="市住建局", conclusion="合格")
CANCEL = CancelProject(year=2026, code="01", cancelled_on=date(2026, 3, 1), reason="上级资金未下达，经市政府研究取消")


def codes(err) -> list[str]:
    return [d["code"] for d in err.details]


def test_an_obstacle_is_reported_and_numbered():
    given(PROJECTS, VOTED, PLANNED).when(OBSTACLE).then(OBSTRUCTED)
    second = OBSTACLE.model_copy(update={"kind": "slow_progress"})
    events = given(PROJECTS, VOTED, PLANNED, OBSTRUCTED).when(second).then(
        OBSTRUCTED.model_copy(update={"obstacle_id": "o2", "kind": "slow_progress"}))
    assert events[0].obstacle_id == "o2"


def test_the_same_obstacle_reported_again_is_not_a_new_one():
    err = given(PROJECTS, VOTED, PLANNED, OBSTRUCTED).when(OBSTACLE).raises(Conflict)
    assert codes(err) == ["obstacle_exists"]


def test_obstacle_kinds_are_the_seeds_three():
    with pytest.raises(pydantic.ValidationError):
        ReportObstacle.model_validate({**OBSTACLE.model_dump(), "kind": "weather"})


def test_an_obstacle_is_resolved_once_not_before_it_was_reported():
    given(PROJECTS, VOTED, PLANNED, OBSTRUCTED).when(RESOLVE).then(RESOLVED)
    err = given(PROJECTS, VOTED, PLANNED, OBSTRUCTED, RESOLVED).when(RESOLVE).raises(Conflict)
    assert codes(err) == ["obstacle_already_resolved"]
    early = RESOLVE.model_copy(update={"resolved_on": date(2026, 5, 1)})
    assert codes(given(PROJECTS, VOTED, PLANNED, OBSTRUCTED).when(early).raises(ValidationFailed)) == [
        "date_before_obstacle"]


def test_resolving_an_unknown_obstacle_is_not_found():
    err = given(PROJECTS, VOTED, PLANNED, OBSTRUCTED).when(RESOLVE.model_copy(update={"obstacle_id": "o7"})).raises(
        NotFound)
    assert codes(err) == ["obstacle_not_found"]


def test_completion_needs_a_full_report_and_no_open_obstacle():
    assert codes(given(PROJECTS, VOTED).when(COMPLETE).raises(Conflict)) == ["no_plan"]
    assert codes(given(PROJECTS, VOTED, PLANNED, REPORTED_APRIL).when(COMPLETE).raises(Conflict)) == [
        "not_fully_reported"]
    assert codes(given(PROJECTS, VOTED, PLANNED, OBSTRUCTED, FULL).when(COMPLETE).raises(Conflict)) == [
        "open_obstacles"]
    given(PROJECTS, VOTED, PLANNED, OBSTRUCTED, RESOLVED, FULL).when(COMPLETE).then(COMPLETED)


def test_completion_is_not_dated_before_the_last_report():
    cmd = COMPLETE.model_copy(update={"completed_on": date(2026, 5, 20)})
    assert codes(given(PROJECTS, VOTED, PLANNED, FULL).when(cmd).raises(ValidationFailed)) == [
        "date_before_last_report"]


def test_acceptance_follows_completion():
    assert codes(given(PROJECTS, VOTED, PLANNED, FULL).when(ACCEPT).raises(Conflict)) == ["not_completed"]
    given(PROJECTS, VOTED, PLANNED, FULL, COMPLETED).when(ACCEPT).then(
        ProjectAccepted(**IDS, accepted_on=date(2026, 5, 30), accepted_by="市住建局", conclusion="合格"))
    early = ACCEPT.model_copy(update={"accepted_on": date(2026, 5, 25)})
    assert codes(given(PROJECTS, VOTED, PLANNED, FULL, COMPLETED).when(early).raises(ValidationFailed)) == [
        "date_before_completion"]


def test_an_accepted_project_is_accepted_once():
    accepted = ProjectAccepted(**IDS, accepted_on=date(2026, 5, 30), accepted_by="市住建局")
    err = given(PROJECTS, VOTED, PLANNED, FULL, COMPLETED, accepted).when(ACCEPT).raises(Conflict)
    assert codes(err) == ["project_accepted"]
    assert PROJECTS.fold([VOTED, PLANNED, FULL, COMPLETED, accepted]).status == "accepted"


def test_cancellation_needs_a_reason_and_an_unfinished_project():
    given(PROJECTS, VOTED).when(CANCEL).then(ProjectCancelled(**IDS, cancelled_on=date(2026, 3, 1), reason=CANCEL.reason))
    with pytest.raises(pydantic.ValidationError):
        CancelProject.model_validate({**CANCEL.model_dump(), "reason": " "})
    assert codes(given(PROJECTS, VOTED, PLANNED, FULL, COMPLETED).when(CANCEL).raises(Conflict)) == [
        "project_completed"]
    cancelled = ProjectCancelled(**IDS, cancelled_on=date(2026, 3, 1), reason="x")
    assert codes(given(PROJECTS, VOTED, cancelled).when(CANCEL).raises(Conflict)) == ["project_cancelled"]


def test_no_obstacle_on_a_completed_project():
    assert codes(given(PROJECTS, VOTED, PLANNED, FULL, COMPLETED).when(OBSTACLE).raises(Conflict)) == [
        "project_completed"]
