"""Attachments (issue #8) on progress reports, activity outcomes and contact logs: contracts and deciders."""

from __future__ import annotations

import hashlib
from typing import Any

import pydantic
import pytest

from shared.contracts.activities import ContactLogged, LogContact, OutcomeRecorded, RecordOutcome
from shared.contracts.base import registry
from shared.contracts.gateway import MAX_ATTACHMENTS
from shared.contracts.projects import ProgressMessage, ProgressReported, ReportProgress
from tests.support import given
from tests.unit.activities_data import ACTIVITIES, CONTACT_POINTS, INVITED, P1, SCHEDULED
from tests.unit.test_activities_contact_points import ESTABLISHED, LOG, LOGGED
from tests.unit.test_projects_domain import PLANNED, PROJECTS, VOTED
from tests.unit.test_projects_progress import IDS, REPORT


def ref(content: bytes = b"\x89PNG\r\n\x1a\n photo", **changes: Any) -> dict[str, Any]:
    """The reference the gateway returns for an uploaded file."""
    sha = hashlib.sha256(content).hexdigest()
    return {"key": sha, "size": len(content), "content_type": "image/png", "sha256": sha, "filename": "现场.png",
            **changes}


REPORT_BODY = {"year": 2026, "code": "01", "reported_by": "jhzjj", "as_of": "2026-04-30", "percent": 30}
LOG_BODY = {"contact_point_id": "cp-1", "delegate_id": "d1", "contacted_on": "2026-05-12", "progress": "外墙完工"}
OUTCOME_BODY = {"activity_id": "insp-1", "minutes": "实地查看三个小区。"}
MESSAGE_BODY = {"message_id": "m-1", "year": 2026, "code": "01", "as_of": "2026-04-30", "percent": 30}
CARRIERS = [(ReportProgress, REPORT_BODY), (LogContact, LOG_BODY), (RecordOutcome, OUTCOME_BODY),
            (ProgressMessage, MESSAGE_BODY)]


def problems(model: type[pydantic.BaseModel], body: dict[str, Any]) -> dict[str, str]:
    """Field → message of every validation problem of a body."""
    with pytest.raises(pydantic.ValidationError) as caught:
        model.model_validate(body)
    return {".".join(map(str, e["loc"])): e["msg"] for e in caught.value.errors()}


@pytest.mark.parametrize(("model", "body"), CARRIERS, ids=lambda v: getattr(v, "__name__", ""))
def test_a_command_carries_attachments_and_has_none_by_default(model, body):
    assert model.model_validate(body).attachments == []
    carried = model.model_validate({**body, "attachments": [ref(), ref(b"%PDF-1.7 doc", content_type="application/pdf")]})
    assert [a.content_type for a in carried.attachments] == ["image/png", "application/pdf"]


@pytest.mark.parametrize(("model", "body"), CARRIERS, ids=lambda v: getattr(v, "__name__", ""))
def test_bad_attachments_get_a_clear_validation_error(model, body):
    bad_key = problems(model, {**body, "attachments": [ref(key="../../etc/passwd")]})
    assert list(bad_key) == ["attachments.0.key"] and "pattern" in bad_key["attachments.0.key"]
    empty = problems(model, {**body, "attachments": [ref(size=0)]})
    assert list(empty) == ["attachments.0.size"] and "greater than or equal to 1" in empty["attachments.0.size"]
    many = [ref(str(i).encode()) for i in range(MAX_ATTACHMENTS + 1)]
    too_many = problems(model, {**body, "attachments": many})
    assert list(too_many) == ["attachments"] and f"at most {MAX_ATTACHMENTS}" in too_many["attachments"]
    other = ref(b"other")
    mismatched = problems(model, {**body, "attachments": [ref(sha256=other["sha256"])]})
    assert "键与 sha256 不一致" in mismatched["attachments"] and "POST /api/v1/attachments" in mismatched["attachments"]
    twice = problems(model, {**body, "attachments": [ref(), ref()]})
    assert "同一附件重复 / the same attachment is listed twice" in twice["attachments"]
    assert "attachments" not in problems(model, {**body, "attachments": [ref()], "unknown": 1})


@pytest.mark.parametrize(("event", "body"), [
    (ProgressReported, {**IDS, "reported_by": "jhzjj", "as_of": "2026-04-30", "percent": 30}),
    (OutcomeRecorded, {"activity_id": "insp-1", "year": 2026, "kind": "inspection", "minutes": "纪要"}),
    (ContactLogged, {"contact_point_id": "cp-1", "log_id": "log-1", "project_id": P1, "year": 2026,
                     "delegate_id": "d1", "contacted_on": "2026-05-12", "progress": "外墙完工"}),
], ids=lambda v: getattr(v, "__name__", ""))
def test_events_stored_before_attachments_still_decode(event, body):
    decoded = registry.decode(event.type, event.schema_version, body)
    assert isinstance(decoded, event) and decoded.attachments == []
    with_files = registry.decode(event.type, event.schema_version, {**body, "attachments": [ref()]})
    assert with_files.attachments[0].key == ref()["key"]


def test_a_progress_report_keeps_its_attachments():
    cmd = REPORT.model_copy(update={"attachments": ReportProgress.model_validate(
        {**REPORT_BODY, "attachments": [ref()]}).attachments})
    events = given(PROJECTS, VOTED, PLANNED).when(cmd).then(
        ProgressReported(**IDS, **cmd.model_dump(exclude={"year", "code"})))
    assert events[0].attachments[0].model_dump() == ref()


def test_an_inspection_outcome_keeps_its_attachments():
    cmd = RecordOutcome.model_validate({**OUTCOME_BODY, "attachments": [ref()]})
    events = given(ACTIVITIES, SCHEDULED, INVITED).when(cmd).then(
        OutcomeRecorded(activity_id="insp-1", year=2026, kind="inspection", minutes=cmd.minutes,
                        attachments=cmd.attachments))
    assert events[0].attachments[0].model_dump() == ref()


def test_a_contact_log_keeps_its_attachments():
    cmd = LogContact.model_validate({**LOG.model_dump(mode="json"), "attachments": [ref()]})
    expected = LOGGED.model_copy(update={"attachments": cmd.attachments})
    events = given(CONTACT_POINTS, ESTABLISHED).when(cmd).then(expected)
    assert events[0].attachments[0].model_dump() == ref()
