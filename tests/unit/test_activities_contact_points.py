"""ContactPoint decider: establish, change responsible delegates, log contacts (business dates)."""

from __future__ import annotations

from datetime import date

import pydantic
import pytest

from shared.contracts.activities import (
    ChangeContactPointDelegates,
    ContactLogged,
    ContactPointDelegatesChanged,
    ContactPointEstablished,
    EstablishContactPoint,
    LogContact,
)
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.support import given
from tests.unit.activities_data import CANCELLED, CONTACT_POINTS, OLD_PROJECT, P1

ESTABLISH = EstablishContactPoint(contact_point_id="cp-1", project_id=P1, place="曼听社区居委会",
                                  delegate_ids=["d1", "d2"], established_on=date(2026, 4, 10))
ESTABLISHED = ContactPointEstablished(contact_point_id="cp-1", project_id=P1, year=2026, place="曼听社区居委会",
                                      delegate_ids=["d1", "d2"], established_on=date(2026, 4, 10))
LOG = LogContact(log_id="log-1", contact_point_id="cp-1", delegate_id="d1", contacted_on=date(2026, 5, 12),
                 progress="3号楼外墙完工", difficulties="两户不同意加装电梯", public_response="居民总体满意",
                 demands="希望夜间不施工", help_given=["policy_explanation", "mediation", "mediation"])
LOGGED = ContactLogged(contact_point_id="cp-1", log_id="log-1", project_id=P1, year=2026, delegate_id="d1",
                       contacted_on=date(2026, 5, 12), progress="3号楼外墙完工", difficulties="两户不同意加装电梯",
                       public_response="居民总体满意", demands="希望夜间不施工",
                       help_given=["policy_explanation", "mediation"])


def fields(err) -> set[str]:
    return {d["field"] for d in err.details}


def test_establish_a_contact_point():
    given(CONTACT_POINTS).when(ESTABLISH).then(ESTABLISHED)


def test_establishing_twice_is_a_conflict():
    given(CONTACT_POINTS, ESTABLISHED).when(ESTABLISH).raises(Conflict)


def test_unknown_project_is_refused():
    err = given(CONTACT_POINTS).when(ESTABLISH.model_copy(update={"project_id": "nope"})).raises(ValidationFailed)
    assert fields(err) == {"project_id"}


def test_cancelled_project_takes_no_contact_point():
    cmd = ESTABLISH.model_copy(update={"project_id": CANCELLED, "established_on": date(2026, 5, 2)})
    assert fields(given(CONTACT_POINTS).when(cmd).raises(ValidationFailed)) == {"project_id"}


def test_project_of_a_closed_year_is_refused():
    cmd = ESTABLISH.model_copy(update={"project_id": OLD_PROJECT, "established_on": date(2025, 4, 1)})
    given(CONTACT_POINTS).when(cmd).raises(Conflict)


def test_establishment_date_not_in_the_future_and_inside_the_year():
    future = ESTABLISH.model_copy(update={"established_on": date(2026, 6, 2)})  # tests decide on 2026-06-01
    assert fields(given(CONTACT_POINTS).when(future).raises(ValidationFailed)) == {"established_on"}
    last_year = ESTABLISH.model_copy(update={"established_on": date(2025, 12, 30)})
    assert fields(given(CONTACT_POINTS).when(last_year).raises(ValidationFailed)) == {"established_on"}


def test_responsible_delegates_must_be_known_active_and_distinct():
    cmd = ESTABLISH.model_copy(update={"delegate_ids": ["d1", "d9", "zz", "d1"]})
    err = given(CONTACT_POINTS).when(cmd).raises(ValidationFailed)
    assert fields(err) == {"delegate_ids.1", "delegate_ids.2", "delegate_ids.3"}


def test_change_responsible_delegates():
    cmd = ChangeContactPointDelegates(contact_point_id="cp-1", delegate_ids=["d1", "d3"], reason="李明住在附近")
    given(CONTACT_POINTS, ESTABLISHED).when(cmd).then(ContactPointDelegatesChanged(
        contact_point_id="cp-1", delegate_ids=["d1", "d3"], reason="李明住在附近"))
    given(CONTACT_POINTS, ESTABLISHED).when(cmd.model_copy(update={"delegate_ids": ["d2", "d1"]})).raises(ValidationFailed)
    given(CONTACT_POINTS, ESTABLISHED).when(cmd.model_copy(update={"delegate_ids": ["d9"]})).raises(ValidationFailed)
    given(CONTACT_POINTS).when(cmd).raises(NotFound)


def test_log_a_contact():
    given(CONTACT_POINTS, ESTABLISHED).when(LOG).then(LOGGED)


def test_a_log_id_is_used_once_so_a_retried_log_is_not_doubled():
    given(CONTACT_POINTS, ESTABLISHED, LOGGED).when(LOG).raises(Conflict)
    second = LOG.model_copy(update={"log_id": "log-2", "contacted_on": date(2026, 5, 20)})
    assert given(CONTACT_POINTS, ESTABLISHED, LOGGED).when(second)._decide()[0].log_id == "log-2"


def test_only_responsible_delegates_log_contacts():
    changed = ContactPointDelegatesChanged(contact_point_id="cp-1", delegate_ids=["d2"], reason="调整")
    err = given(CONTACT_POINTS, ESTABLISHED, changed).when(LOG).raises(ValidationFailed)
    assert fields(err) == {"delegate_id"}


def test_contact_date_not_in_the_future_not_before_the_point_and_inside_the_year():
    for day in (date(2026, 6, 2), date(2026, 4, 9)):
        err = given(CONTACT_POINTS, ESTABLISHED).when(LOG.model_copy(update={"contacted_on": day})).raises(ValidationFailed)
        assert fields(err) == {"contacted_on"}


def test_contact_by_a_delegate_out_of_office_that_day_is_refused():
    ended = ContactPointEstablished(**{**ESTABLISHED.model_dump(), "delegate_ids": ["d9"],
                                       "established_on": date(2026, 2, 1)})
    log = LOG.model_copy(update={"delegate_id": "d9", "contacted_on": date(2026, 3, 5)})
    given(CONTACT_POINTS, ended).when(log).raises(ValidationFailed)
    earlier = log.model_copy(update={"contacted_on": date(2026, 2, 20)})  # still in office then
    assert given(CONTACT_POINTS, ended).when(earlier)._decide()[0].delegate_id == "d9"


def test_a_delegate_logs_only_their_own_contacts():
    scenario = given(CONTACT_POINTS, ESTABLISHED).when(LOG)
    scenario.actor = "delegate:d2"
    scenario.raises(Forbidden)


def test_a_log_must_say_what_was_learned():
    with pytest.raises(pydantic.ValidationError):
        LogContact(contact_point_id="cp-1", delegate_id="d1", contacted_on=date(2026, 5, 12), help_given=["mediation"])


def test_unknown_contact_point_is_not_found():
    given(CONTACT_POINTS).when(LOG).raises(NotFound)
