"""What a submission or a forwarding refers to must be known to the service's copy."""

from __future__ import annotations

import pytest

from services.feedback.references import SubmissionFacts, check_departments, check_submission
from shared.errors import ValidationFailed
from tests.unit.test_feedback_domain import FORWARD, SUBMIT

KNOWN = SubmissionFacts(project_year=2026, delegates={"d001": True, "d002": True})


def fields(cmd, facts) -> list[str]:
    with pytest.raises(ValidationFailed) as info:
        check_submission(cmd, facts)
    return [d["field"] for d in info.value.details]


def test_known_references_pass():
    check_submission(SUBMIT, KNOWN)
    check_submission(SUBMIT.model_copy(update={"project_id": None}), SubmissionFacts(delegates=KNOWN.delegates))


def test_unknown_project_or_project_of_another_year():
    assert fields(SUBMIT, SubmissionFacts(delegates=KNOWN.delegates)) == ["project_id"]
    assert fields(SUBMIT, SubmissionFacts(project_year=2025, delegates=KNOWN.delegates)) == ["project_id"]


def test_unknown_or_inactive_delegates_are_named_by_position():
    assert fields(SUBMIT, SubmissionFacts(project_year=2026, delegates={"d001": True})) == ["raised_by.1"]
    inactive = SubmissionFacts(project_year=2026, delegates={"d001": False, "d002": True})
    assert fields(SUBMIT, inactive) == ["raised_by.0"]


def test_a_groups_feedback_names_a_group_of_the_year_and_its_members():
    cmd = SUBMIT.model_copy(update={"source": "group", "group_id": "gasa-2026"})
    members = frozenset({"d001", "d002"})
    check_submission(cmd, SubmissionFacts(2026, KNOWN.delegates, group_year=2026, group_members=members))
    assert fields(cmd, KNOWN) == ["group_id"]
    assert fields(cmd, SubmissionFacts(2026, KNOWN.delegates, 2025, members)) == ["group_id"]
    assert fields(cmd, SubmissionFacts(2026, KNOWN.delegates, 2026, frozenset({"d001"}))) == ["raised_by"]


def test_departments_must_be_registered():
    check_departments(FORWARD, {"jhzjj", "jhcgj"})
    with pytest.raises(ValidationFailed) as info:
        check_departments(FORWARD.model_copy(update={"co_departments": ["jhcgj", "nope"]}), {"jhcgj"})
    assert [d["field"] for d in info.value.details] == ["main_department", "co_departments.1"]
