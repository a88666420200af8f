"""Delegate, Group and registry deciders: given/when/then."""

from __future__ import annotations

from datetime import date

from services.delegates.domain.delegate import delegate_decider
from services.delegates.domain.facts import DelegateFact, Facts, YearFact
from services.delegates.domain.group import group_decider
from services.delegates.domain.registry import registry_decider
from shared.contracts.delegates import (
    AddGroupMember,
    AppointGroupLeader,
    ChangeDelegateDetails,
    CommitteeRegistered,
    DelegateDetailsChanged,
    DelegateRegistered,
    DelegateTermEnded,
    EndDelegateTerm,
    FormGroup,
    GroupFormed,
    GroupLeaderAppointed,
    GroupMemberJoined,
    GroupMemberLeft,
    LeaderRegistered,
    RegisterCommittee,
    RegisterDelegate,
    RegisterLeader,
    RemoveGroupMember,
)
from shared.contracts.projects import Location
from shared.errors import Conflict, NotFound, ValidationFailed
from tests.support import given

HOME = Location(township="嘎洒镇", lat=21.96, lon=100.76)
REGISTER = RegisterDelegate(delegate_id="d001", name="岩温香", gender="男", ethnicity="傣族", level="city",
                            constituency="嘎洒镇", occupation="村委会主任", home=HOME, phone="13908810001",
                            term_start=date(2022, 1, 10))
REGISTERED = DelegateRegistered(**REGISTER.details(), term_start=date(2022, 1, 10))
CHANGE = ChangeDelegateDetails.model_validate({**REGISTER.details(), "phone": "13908819999", "reason": "换号"})
ENDED = DelegateTermEnded(delegate_id="d001", ended_on=date(2026, 3, 1), reason="调离本市")


def test_register_delegate():
    given(delegate_decider).when(REGISTER).then(REGISTERED)


def test_registering_twice_is_a_conflict():
    given(delegate_decider, REGISTERED).when(REGISTER).raises(Conflict)


def test_unknown_ethnicity_and_future_term_are_refused_together():
    bad = REGISTER.model_copy(update={"ethnicity": "傣", "term_start": date(2027, 1, 1)})
    err = given(delegate_decider).when(bad).raises(ValidationFailed)
    assert {d["field"] for d in err.details} == {"ethnicity", "term_start"}
    assert all(" / " in d["message"] for d in err.details), "messages are bilingual"


def test_changed_details_replace_the_old_ones_and_unchanged_record_nothing():
    given(delegate_decider, REGISTERED).when(CHANGE).then(
        DelegateDetailsChanged(**CHANGE.details(), reason="换号"))
    same = ChangeDelegateDetails.model_validate(REGISTER.details())
    given(delegate_decider, REGISTERED).when(same).then()


def test_end_of_term_then_no_more_changes():
    given(delegate_decider, REGISTERED).when(EndDelegateTerm(delegate_id="d001", ended_on=date(2026, 3, 1),
                                                             reason="调离本市")).then(ENDED)
    given(delegate_decider, REGISTERED, ENDED).when(CHANGE).raises(Conflict)
    given(delegate_decider, REGISTERED, ENDED).when(EndDelegateTerm(delegate_id="d001", ended_on=date(2026, 3, 2),
                                                                    reason="再次")).raises(Conflict)


def test_term_cannot_end_before_it_started_or_in_the_future():
    early = EndDelegateTerm(delegate_id="d001", ended_on=date(2021, 1, 1), reason="录入错误")
    given(delegate_decider, REGISTERED).when(early).raises(ValidationFailed)
    late = EndDelegateTerm(delegate_id="d001", ended_on=date(2026, 12, 1), reason="提前登记")
    given(delegate_decider, REGISTERED).when(late).raises(ValidationFailed)


def test_unknown_delegate_cannot_change():
    given(delegate_decider).when(CHANGE).raises(NotFound)


# --- Groups -----------------------------------------------------------------------------------

FORM = FormGroup(group_id="gasa-2026", year=2026, name="嘎洒镇代表小组", kind="township", township="嘎洒镇")
FORMED = GroupFormed(group_id="gasa-2026", year=2026, name="嘎洒镇代表小组", kind="township", township="嘎洒镇")
D1 = DelegateFact("d001", "岩温香")
JOIN = AddGroupMember(group_id="gasa-2026", delegate_id="d001")
JOINED = GroupMemberJoined(group_id="gasa-2026", year=2026, delegate_id="d001")
OPEN = YearFact(2026, opened=True)


def facts(**kwargs) -> Facts:
    return Facts(year=OPEN, delegates={"d001": D1}, **kwargs)


def test_form_group_and_add_an_active_member():
    given(group_decider(Facts())).when(FORM).then(FORMED)
    given(group_decider(facts()), FORMED).when(JOIN).then(JOINED)


def test_a_delegate_is_in_one_group_per_year():
    err = given(group_decider(facts(memberships={"d001": "menglong-2026"})), FORMED).when(JOIN).raises(Conflict)
    assert err.details == {"delegate_id": "d001", "group_id": "menglong-2026", "year": 2026}
    given(group_decider(facts()), FORMED, JOINED).when(JOIN).raises(Conflict)


def test_only_active_and_known_delegates_join():
    inactive = Facts(year=OPEN, delegates={"d001": DelegateFact("d001", "岩温香", active=False)})
    given(group_decider(inactive), FORMED).when(JOIN).raises(Conflict)
    given(group_decider(Facts(year=OPEN)), FORMED).when(JOIN).raises(NotFound)


def test_groups_of_a_closed_year_do_not_change():
    closed = Facts(year=YearFact(2026, opened=True, closed=True), delegates={"d001": D1})
    given(group_decider(closed), FORMED).when(JOIN).raises(Conflict)
    given(group_decider(closed)).when(FORM).raises(Conflict)


def test_leader_must_be_a_member_and_leaving_clears_the_leader():
    appoint = AppointGroupLeader(group_id="gasa-2026", delegate_id="d001")
    given(group_decider(facts()), FORMED).when(appoint).raises(Conflict)
    appointed = GroupLeaderAppointed(group_id="gasa-2026", year=2026, delegate_id="d001")
    given(group_decider(facts()), FORMED, JOINED).when(appoint).then(appointed)
    left = GroupMemberLeft(group_id="gasa-2026", year=2026, delegate_id="d001", reason="调整小组")
    given(group_decider(facts()), FORMED, JOINED, appointed).when(
        RemoveGroupMember(group_id="gasa-2026", delegate_id="d001", reason="调整小组")).then(left)
    assert group_decider(facts()).fold([FORMED, JOINED, appointed, left]).leader_id is None


def test_commands_on_an_unknown_group_are_not_found():
    given(group_decider(facts())).when(JOIN).raises(NotFound)


# --- Registry ---------------------------------------------------------------------------------

def test_leader_names_known_committees_only():
    cmd = RegisterLeader(leader_id="fzr-1", name="李文明", title="副主任", committee_ids=["nww", "xx"])
    err = given(registry_decider(Facts(committee_ids=frozenset({"nww"})))).when(cmd).raises(ValidationFailed)
    assert err.details[0]["field"] == "committee_ids.1"
    ok = cmd.model_copy(update={"committee_ids": ["nww"]})
    given(registry_decider(Facts(committee_ids=frozenset({"nww"})))).when(ok).then(
        LeaderRegistered(leader_id="fzr-1", name="李文明", title="副主任", committee_ids=["nww"]))


def test_committee_registered_once():
    cmd = RegisterCommittee(committee_id="nww", name="农业农村工作委员会", categories=["农业农村"])
    event = CommitteeRegistered(committee_id="nww", name="农业农村工作委员会", categories=["农业农村"])
    given(registry_decider(Facts())).when(cmd).then(event)
    given(registry_decider(Facts()), event).when(cmd).raises(Conflict)
