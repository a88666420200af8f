"""Supervision of a project whose group changes (duties follow the new group) or that was cancelled."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from services.delegates.domain.facts import GroupFact
from services.delegates.domain.supervision import supervision_decider
from shared.contracts.delegates import AssignContactDuty, ContactDutyAssigned, ContactDutyReleased
from shared.errors import Conflict
from tests.support import given
from tests.unit.test_delegates_supervision import ASSIGN, ASSIGNED, PROJECT, P, facts

MENGLONG = GroupFact("menglong-2026", 2026, "勐龙镇代表小组", township="勐龙镇")
TO_MENGLONG = ASSIGN.model_copy(update={"group_id": "menglong-2026", "reason": "嘎洒镇小组已联系两个项目"})
# d1 of the old group; d2 named with an override, a member of the new group; d4 named with an override, in no group.
DUTIES = (ContactDutyAssigned(project_id=P, year=2026, delegate_ids=["d1"]),
          ContactDutyAssigned(project_id=P, year=2026, delegate_ids=["d2", "d4"], override_reason="家住项目旁"))
RELEASED = "联系监督代表小组由 gasa-2026 变更为 menglong-2026"


def test_a_new_group_ends_the_duties_of_delegates_outside_it():
    new_group = facts(group=MENGLONG, memberships={"d2": "menglong-2026"})
    given(supervision_decider(new_group), ASSIGNED, *DUTIES).when(TO_MENGLONG).then(
        ASSIGNED.model_copy(update={"group_id": "menglong-2026", "reason": TO_MENGLONG.reason}),
        ContactDutyReleased(project_id=P, year=2026, delegate_id="d1", reason=RELEASED),
        ContactDutyReleased(project_id=P, year=2026, delegate_id="d4", reason=RELEASED),
    )


def test_a_new_leader_keeps_the_group_and_its_duties():
    new_leader = ASSIGN.model_copy(update={"leader_id": "fzr-2", "reason": "领导分工调整"})
    given(supervision_decider(facts()), ASSIGNED, *DUTIES).when(new_leader).then(
        ASSIGNED.model_copy(update={"leader_id": "fzr-2", "reason": "领导分工调整"}))


def test_a_cancelled_project_gets_no_supervision_and_no_new_duty():
    cancelled = facts(project=replace(PROJECT, cancelled_on=date(2026, 5, 6)))
    err = given(supervision_decider(cancelled)).when(ASSIGN).raises(Conflict, match="项目已撤销")
    assert err.message == "项目已撤销 / the project was cancelled" and err.details["cancelled_on"] == "2026-05-06"
    duty = AssignContactDuty(project_id=P, delegate_ids=["d1"])
    given(supervision_decider(cancelled), ASSIGNED).when(duty).raises(Conflict, match="项目已撤销")
