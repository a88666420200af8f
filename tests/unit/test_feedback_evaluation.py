"""Year-end evaluation rules: window, scope, one vote per delegate, changes until the window closes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from services.feedback.evaluation import VoterFacts, evaluation_decider
from services.projection.views.feedback import satisfaction_rate
from shared.contracts.feedback import CastEvaluationVote, EvaluationVoteCast, EvaluationVoteChanged
from shared.contracts.projects import PhaseWindow
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.support import given

WINDOW = PhaseWindow(start=date(2026, 12, 1), end=date(2026, 12, 20))
FACTS = VoterFacts(project_year=2026, window=WINDOW, scope="group", supervising_group="gasa-2026",
                   delegate_active=True, delegate_group="gasa-2026")
IN_WINDOW = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
VOTE = CastEvaluationVote(project_id="project-2026-01", delegate_id="d001", rating="satisfied")
CAST = EvaluationVoteCast(project_id="project-2026-01", year=2026, delegate_id="d001", rating="satisfied",
                          voted_on=date(2026, 12, 10))


def decider(**changes):
    return evaluation_decider(replace(FACTS, **changes))


def test_a_member_of_the_supervising_group_votes_in_the_window():
    given(decider()).when(VOTE, now=IN_WINDOW).then(CAST)


def test_a_vote_can_be_changed_while_the_window_is_open():
    change = VOTE.model_copy(update={"rating": "unsatisfied"})
    later = datetime(2026, 12, 20, 15, 0, tzinfo=UTC)  # 23:00 on the last day in Jinghong
    given(decider(), CAST).when(change, now=later).then(EvaluationVoteChanged(
        project_id="project-2026-01", year=2026, delegate_id="d001", rating="unsatisfied", previous="satisfied",
        voted_on=date(2026, 12, 20)))


def test_repeating_the_same_vote_records_nothing():
    given(decider(), CAST).when(VOTE, now=IN_WINDOW).then()


def test_no_vote_or_change_after_the_window_closes():
    after = datetime(2026, 12, 20, 16, 0, tzinfo=UTC)  # 00:00 on 21 December in Jinghong
    err = given(decider(), CAST).when(VOTE.model_copy(update={"rating": "unsatisfied"}), now=after).raises(Conflict)
    assert "已于2026-12-20结束" in err.message
    given(decider()).when(VOTE, now=after).raises(Conflict)


def test_no_vote_before_the_window_opens():
    given(decider()).when(VOTE, now=datetime(2026, 11, 30, 2, 0, tzinfo=UTC)).raises(Conflict, match="尚未开始")


def test_a_year_without_a_window_or_a_closed_year_refuses_votes():
    given(decider(window=None)).when(VOTE, now=IN_WINDOW).raises(Conflict)
    given(decider(year_closed=True)).when(VOTE, now=IN_WINDOW).raises(Conflict)


@pytest.mark.parametrize("voted_on", [date(2026, 11, 30), date(2026, 12, 11)])
def test_vote_date_is_inside_the_window_and_not_in_the_future(voted_on):
    err = given(decider()).when(VOTE.model_copy(update={"voted_on": voted_on}), now=IN_WINDOW).raises(ValidationFailed)
    assert err.details[0]["field"] == "voted_on"


def test_a_paper_ballot_keeps_its_date():
    cmd = VOTE.model_copy(update={"voted_on": date(2026, 12, 3)})
    given(decider()).when(cmd, now=IN_WINDOW).then(CAST.model_copy(update={"voted_on": date(2026, 12, 3)}))


def test_group_scope_refuses_delegates_of_other_groups():
    given(decider(delegate_group="menglong-2026")).when(VOTE, now=IN_WINDOW).raises(Forbidden)
    given(decider(delegate_group=None)).when(VOTE, now=IN_WINDOW).raises(Forbidden)
    given(decider(supervising_group=None)).when(VOTE, now=IN_WINDOW).raises(Conflict)


def test_all_scope_lets_every_active_delegate_vote():
    given(decider(scope="all", delegate_group=None, supervising_group=None)).when(VOTE, now=IN_WINDOW).then(CAST)


def test_unknown_or_inactive_delegates_and_unknown_projects_are_refused():
    given(decider(delegate_active=None)).when(VOTE, now=IN_WINDOW).raises(NotFound)
    given(decider(delegate_active=False)).when(VOTE, now=IN_WINDOW).raises(Forbidden)
    given(decider(project_year=None)).when(VOTE, now=IN_WINDOW).raises(NotFound)


def test_the_latest_vote_counts():
    changed = EvaluationVoteChanged(project_id="project-2026-01", year=2026, delegate_id="d001",
                                    rating="basically_satisfied", previous="satisfied", voted_on=date(2026, 12, 11))
    assert decider().fold([CAST, changed]).rating == "basically_satisfied"
    given(decider(), CAST, changed).when(VOTE, now=IN_WINDOW).then(
        changed.model_copy(update={"rating": "satisfied", "previous": "basically_satisfied",
                                   "voted_on": date(2026, 12, 10)}))


def test_satisfaction_rate_counts_satisfied_and_basically_satisfied():
    assert satisfaction_rate(2, 1, 4) == 0.75
    assert satisfaction_rate(1, 1, 3) == 0.6667
    assert satisfaction_rate(0, 0, 0) is None
