"""Project registration by vote (given/when/then), and the facts the other project tests start from."""

from __future__ import annotations

from datetime import date

from services.projects.project import project_decider, voted_event
from services.projects.project_state import World
from services.projects.year import YearState
from shared.contracts.projects import (
    Location, Milestone, PhaseWindow, PlanSubmitted, ProgressReported, RegisterVotedProject, YearCalendar,
)
from shared.errors import Conflict, NotFound, ValidationFailed
from tests.support import given

CALENDAR = YearCalendar(
    session_start=date(2026, 1, 17), session_end=date(2026, 1, 20), plan_deadline=date(2026, 2, 20),
    mobilisation=PhaseWindow(start=date(2026, 2, 1), end=date(2026, 3, 31)),
    supervision=PhaseWindow(start=date(2026, 4, 1), end=date(2026, 11, 30)),
    summary=PhaseWindow(start=date(2026, 12, 1), end=date(2026, 12, 31)),
)
WORLD = World(year=YearState(2026, CALENDAR), departments=frozenset({"jhzjj", "jhczj", "jhgsz"}))
PROJECTS = project_decider(WORLD)

REGISTER = RegisterVotedProject(
    year=2026, code="01", title="城区老旧小区改造", category="城乡建设", lead_unit="jhzjj", co_units=["jhczj"],
    townships=["允景洪街道"], locations=[Location(township="允景洪街道", lat=22.01, lon=100.80)], budget_wan=3200,
    votes_for=180, votes_against=5, votes_abstain=3, voted_on=date(2026, 1, 20),
)
VOTED = voted_event(REGISTER)
MILESTONES = [
    Milestone(name="方案设计", due=date(2026, 3, 31), weight=20),
    Milestone(name="施工招标", due=date(2026, 5, 31), weight=20),
    Milestone(name="主体施工", due=date(2026, 10, 31), weight=50),
    Milestone(name="竣工验收准备", due=date(2026, 11, 30), weight=10),
]
PLANNED = PlanSubmitted(project_id="project-2026-01", year=2026, code="01", milestones=MILESTONES,
                        target_completion=date(2026, 11, 30), submitted_on=date(2026, 2, 10),
                        plan_deadline=date(2026, 2, 20), late=False)
REPORTED_APRIL = ProgressReported(project_id="project-2026-01", year=2026, code="01", reported_by="jhzjj",
                                  as_of=date(2026, 4, 30), percent=30, milestones_completed=["方案设计"])


def test_register_voted_project_emits_project_voted():
    events = given(PROJECTS).when(REGISTER).then(VOTED)
    assert events[0].project_id == "project-2026-01" and events[0].co_units == ["jhczj"]


def test_registering_twice_is_a_conflict():
    err = given(PROJECTS, VOTED).when(REGISTER).raises(Conflict)
    assert err.details[0]["code"] == "project_exists"


def test_project_not_adopted_by_majority_is_refused():
    err = given(PROJECTS).when(REGISTER.model_copy(update={"votes_for": 90, "votes_against": 95})).raises(
        ValidationFailed)
    assert err.details[0]["field"] == "votes_for" and err.details[0]["code"] == "not_adopted"


def test_no_votes_is_refused():
    update = {"votes_for": 0, "votes_against": 0, "votes_abstain": 0}
    err = given(PROJECTS).when(REGISTER.model_copy(update=update)).raises(ValidationFailed)
    assert err.details[0]["code"] == "no_votes"


def test_vote_date_in_the_future_is_refused():
    err = given(PROJECTS).when(REGISTER.model_copy(update={"voted_on": date(2026, 12, 1)})).raises(ValidationFailed)
    assert {"date_in_future", "vote_outside_session"} <= {d["code"] for d in err.details}


def test_vote_date_outside_the_year_is_refused():
    err = given(PROJECTS).when(REGISTER.model_copy(update={"voted_on": date(2025, 12, 30)})).raises(ValidationFailed)
    assert "date_outside_year" in {d["code"] for d in err.details}


def test_vote_outside_the_session_is_refused():
    err = given(PROJECTS).when(REGISTER.model_copy(update={"voted_on": date(2026, 1, 10)})).raises(ValidationFailed)
    assert [d["code"] for d in err.details] == ["vote_outside_session"]


def test_lead_unit_and_co_units_must_be_registered_departments():
    cmd = REGISTER.model_copy(update={"lead_unit": "jhxxx", "co_units": ["jhczj", "jhyyy"]})
    err = given(PROJECTS).when(cmd).raises(ValidationFailed)
    assert [(d["field"], d["code"]) for d in err.details] == [
        ("lead_unit", "unknown_department"), ("co_units.1", "unknown_department")]


def test_lead_unit_cannot_also_be_a_co_unit_nor_a_co_unit_twice():
    cmd = REGISTER.model_copy(update={"co_units": ["jhzjj", "jhczj", "jhczj"]})
    err = given(PROJECTS).when(cmd).raises(ValidationFailed)
    assert [d["code"] for d in err.details] == ["lead_also_co_unit", "duplicate_co_unit"]


def test_locations_must_lie_in_the_projects_townships():
    cmd = REGISTER.model_copy(update={"locations": [Location(township="嘎洒镇", lat=21.97, lon=100.76)]})
    err = given(PROJECTS).when(cmd).raises(ValidationFailed)
    assert err.details[0] == {"field": "locations.0.township", "code": "location_township_unlisted",
                              "message": err.details[0]["message"]}


def test_registration_needs_an_open_year():
    err = given(project_decider(World(departments=WORLD.departments))).when(REGISTER).raises(NotFound)
    assert err.details[0]["code"] == "year_not_open"


def test_registration_in_a_closed_year_is_refused():
    closed = World(year=YearState(2026, CALENDAR, closed=True), departments=WORLD.departments)
    err = given(project_decider(closed)).when(REGISTER).raises(Conflict)
    assert err.details[0]["code"] == "year_closed"


def test_evolve_records_the_voted_status_and_units():
    state = PROJECTS.fold([VOTED])
    assert state.status == "voted" and state.responsible_units == {"jhzjj", "jhczj"}
