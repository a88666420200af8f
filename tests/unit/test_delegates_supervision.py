"""Supervision rules: open year only, known leader/committee/group of the year, changes with a reason,
contact duty for active delegates of the assigned group (or with an override reason)."""

from __future__ import annotations

from services.delegates.domain.facts import DelegateFact, Facts, GroupFact, ProjectFact, YearFact
from services.delegates.domain.supervision import supervision_decider
from shared.contracts.delegates import (
    AssignContactDuty,
    AssignSupervision,
    ContactDutyAssigned,
    ContactDutyReleased,
    ReleaseContactDuty,
    SupervisionAssigned,
)
from shared.errors import Conflict, NotFound, ValidationFailed
from tests.support import given

P = "project-2026-02"
PROJECT = ProjectFact(P, 2026, "嘎洒镇农村饮水安全巩固提升", "农业农村", ("嘎洒镇",))
GASA = GroupFact("gasa-2026", 2026, "嘎洒镇代表小组", township="嘎洒镇")
OPEN = YearFact(2026, opened=True)
REGISTRY = dict(leader_ids=frozenset({"fzr-1", "fzr-2"}), committee_ids=frozenset({"nww", "cjw"}))
ASSIGN = AssignSupervision(project_id=P, leader_id="fzr-1", committee_id="nww", group_id="gasa-2026")
ASSIGNED = SupervisionAssigned(project_id=P, year=2026, leader_id="fzr-1", committee_id="nww", group_id="gasa-2026")
DELEGATES = {"d1": DelegateFact("d1", "岩温"), "d2": DelegateFact("d2", "玉香"),
             "d3": DelegateFact("d3", "车文明", active=False)}
MEMBERS = {"d1": "gasa-2026", "d3": "gasa-2026", "d2": "menglong-2026"}


def facts(**kwargs) -> Facts:
    base = dict(year=OPEN, project=PROJECT, group=GASA, delegates=DELEGATES, memberships=MEMBERS, **REGISTRY)
    return Facts(**{**base, **kwargs})


def test_assign_supervision():
    given(supervision_decider(facts())).when(ASSIGN).then(ASSIGNED)


def test_only_projects_of_an_open_year():
    given(supervision_decider(facts(project=None))).when(ASSIGN).raises(NotFound)
    given(supervision_decider(facts(year=None))).when(ASSIGN).raises(Conflict, match="尚未开启")
    given(supervision_decider(facts(year=YearFact(2026, opened=True, closed=True)))).when(ASSIGN).raises(
        Conflict, match="已关闭")


def test_leader_committee_and_group_must_exist_and_the_group_be_of_the_year():
    bad = ASSIGN.model_copy(update={"leader_id": "nobody", "committee_id": "none"})
    err = given(supervision_decider(facts(group=None))).when(bad).raises(ValidationFailed)
    assert {d["field"] for d in err.details} == {"leader_id", "committee_id", "group_id"}
    old_group = GroupFact("gasa-2025", 2025, "嘎洒镇代表小组")
    err = given(supervision_decider(facts(group=old_group))).when(ASSIGN).raises(ValidationFailed)
    assert "2025" in err.details[0]["message"]


def test_a_change_needs_a_reason_and_the_same_assignment_records_nothing():
    change = ASSIGN.model_copy(update={"leader_id": "fzr-2"})
    err = given(supervision_decider(facts()), ASSIGNED).when(change).raises(ValidationFailed)
    assert err.details[0]["field"] == "reason"
    with_reason = change.model_copy(update={"reason": "领导分工调整"})
    given(supervision_decider(facts()), ASSIGNED).when(with_reason).then(
        ASSIGNED.model_copy(update={"leader_id": "fzr-2", "reason": "领导分工调整"}))
    given(supervision_decider(facts()), ASSIGNED).when(ASSIGN).then()


def test_contact_duty_for_members_of_the_assigned_group():
    duty = AssignContactDuty(project_id=P, delegate_ids=["d1"])
    given(supervision_decider(facts()), ASSIGNED).when(duty).then(
        ContactDutyAssigned(project_id=P, year=2026, delegate_ids=["d1"]))
    given(supervision_decider(facts())).when(duty).raises(Conflict, match="代表小组")


def test_a_delegate_outside_the_group_needs_an_override_reason():
    duty = AssignContactDuty(project_id=P, delegate_ids=["d1", "d2"])
    err = given(supervision_decider(facts()), ASSIGNED).when(duty).raises(ValidationFailed)
    assert [d["field"] for d in err.details] == ["delegate_ids.1"]
    override = duty.model_copy(update={"override_reason": "家住项目所在村"})
    given(supervision_decider(facts()), ASSIGNED).when(override).then(
        ContactDutyAssigned(project_id=P, year=2026, delegate_ids=["d1", "d2"], override_reason="家住项目所在村"))


def test_only_active_known_delegates_and_no_duty_twice():
    duty = AssignContactDuty(project_id=P, delegate_ids=["d3", "d9"], override_reason="不适用")
    err = given(supervision_decider(facts()), ASSIGNED).when(duty).raises(ValidationFailed)
    assert [d["field"] for d in err.details] == ["delegate_ids.0", "delegate_ids.1"]
    on_duty = ContactDutyAssigned(project_id=P, year=2026, delegate_ids=["d1"])
    given(supervision_decider(facts()), ASSIGNED, on_duty).when(
        AssignContactDuty(project_id=P, delegate_ids=["d1"])).raises(Conflict)


def test_release_contact_duty():
    on_duty = ContactDutyAssigned(project_id=P, year=2026, delegate_ids=["d1"])
    release = ReleaseContactDuty(project_id=P, delegate_id="d1", reason="工作调动")
    released = ContactDutyReleased(project_id=P, year=2026, delegate_id="d1", reason="工作调动")
    given(supervision_decider(facts()), ASSIGNED, on_duty).when(release).then(released)
    given(supervision_decider(facts()), ASSIGNED, on_duty, released).when(release).raises(Conflict)
