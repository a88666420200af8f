"""Projects decider: given/when/then."""

from __future__ import annotations

from datetime import date

from services.projects.domain import project_decider
from shared.contracts.projects import ProjectVoted, RegisterVotedProject
from shared.errors import Conflict, ValidationFailed
from tests.support import given

REGISTER = RegisterVotedProject(
    year=2026, code="01", title="城区老旧小区改造", category="城乡建设", lead_unit="jhzjj",
    votes_for=180, votes_against=5, votes_abstain=3, voted_on=date(2026, 1, 20),
)
VOTED = ProjectVoted(project_id="project-2026-01", **REGISTER.model_dump())


def test_register_voted_project_emits_project_voted():
    given(project_decider).when(REGISTER).then(VOTED)


def test_registering_twice_is_a_conflict():
    given(project_decider, VOTED).when(REGISTER).raises(Conflict)


def test_project_not_adopted_by_majority_is_refused():
    err = given(project_decider).when(REGISTER.model_copy(update={"votes_for": 90, "votes_against": 95})).raises(
        ValidationFailed
    )
    assert err.details[0]["field"] == "votes_for"


def test_no_votes_is_refused():
    update = {"votes_for": 0, "votes_against": 0, "votes_abstain": 0}
    given(project_decider).when(REGISTER.model_copy(update=update)).raises(ValidationFailed)


def test_vote_date_in_the_future_is_refused():
    err = given(project_decider).when(REGISTER.model_copy(update={"voted_on": date(2026, 12, 1)})).raises(
        ValidationFailed
    )
    assert any(d["field"] == "voted_on" for d in err.details)


def test_vote_date_outside_the_year_is_refused():
    given(project_decider).when(REGISTER.model_copy(update={"voted_on": date(2025, 12, 30)})).raises(ValidationFailed)


def test_evolve_records_the_voted_status():
    state = project_decider.fold([VOTED])
    assert state.status == "voted" and state.lead_unit == "jhzjj"
