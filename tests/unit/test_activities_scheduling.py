"""Activity decider: scheduling, rescheduling, cancelling and inviting."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from services.activities.activity import activity_decider
from services.activities.references import DelegateRef
from shared.contracts.activities import (
    ActivityCancelled,
    ActivityRescheduled,
    AttendanceRecorded,
    CancelActivity,
    DelegatesInvited,
    InviteDelegates,
    OpinionRaised,
    RescheduleActivity,
)
from shared.errors import Conflict, NotFound, ValidationFailed
from tests.support import given
from tests.unit.activities_data import (
    ACTIVITIES,
    CANCELLED,
    INVITED,
    OLD_PROJECT,
    P2,
    REFS,
    SCHEDULE,
    SCHEDULED,
    SECRET,
    local,
    scheduled,
)


def fields(err) -> set[str]:
    return {d["field"] for d in err.details}


# --- schedule -----------------------------------------------------------------------------------

def test_schedule_emits_the_activity_with_its_phase_from_the_calendar():
    given(ACTIVITIES).when(SCHEDULE).then(SCHEDULED)


@pytest.mark.parametrize(("day", "phase"), [
    (date(2026, 1, 25), "before"), (date(2026, 2, 10), "mobilisation"), (date(2026, 4, 1), "supervision"),
    (date(2026, 12, 5), "summary"),
])
def test_phase_follows_the_start_date(day, phase):
    starts = local(day.year, day.month, day.day, 9)
    cmd = SCHEDULE.model_copy(update={"starts_at": starts, "ends_at": starts.replace(hour=11)})
    assert given(ACTIVITIES).when(cmd)._decide()[0].phase == phase


def test_mobilisation_and_summary_take_their_meeting_forms():
    cmd = SCHEDULE.model_copy(update={"kind": "mobilisation", "form": "座谈会"})
    assert given(ACTIVITIES).when(cmd)._decide()[0].form == "座谈会"
    err = given(ACTIVITIES).when(SCHEDULE.model_copy(update={"kind": "summary", "form": "动员会"})).raises(ValidationFailed)
    assert fields(err) == {"form"}
    err = given(ACTIVITIES).when(SCHEDULE.model_copy(update={"form": "座谈会"})).raises(ValidationFailed)
    assert fields(err) == {"form"}, "an inspection has no meeting form"


def test_scheduling_twice_is_a_conflict():
    given(ACTIVITIES, SCHEDULED).when(SCHEDULE).raises(Conflict)


def test_year_not_opened_is_refused():
    refs = replace(REFS, calendars={})
    err = given(activity_decider(refs, SECRET)).when(SCHEDULE).raises(ValidationFailed)
    assert "year" in fields(err)


def test_closed_year_is_refused():
    cmd = SCHEDULE.model_copy(update={"year": 2025, "project_ids": [OLD_PROJECT], "group_ids": ["g-old"],
                                      "starts_at": local(2025, 5, 20, 9), "ends_at": local(2025, 5, 20, 12)})
    given(ACTIVITIES).when(cmd).raises(Conflict, match="closed")


def test_unknown_projects_and_groups_or_other_years_are_refused():
    cmd = SCHEDULE.model_copy(update={"project_ids": ["project-x", OLD_PROJECT, P2, P2], "group_ids": ["nope", "g-old"]})
    err = given(ACTIVITIES).when(cmd).raises(ValidationFailed)
    assert fields(err) == {"project_ids.0", "project_ids.1", "project_ids.3", "group_ids.0", "group_ids.1"}


def test_time_window_must_be_ordered_short_and_inside_the_year():
    reversed_ = SCHEDULE.model_copy(update={"ends_at": local(2026, 5, 20, 8)})
    assert fields(given(ACTIVITIES).when(reversed_).raises(ValidationFailed)) == {"ends_at"}
    too_long = SCHEDULE.model_copy(update={"ends_at": local(2026, 7, 20, 8)})
    assert fields(given(ACTIVITIES).when(too_long).raises(ValidationFailed)) == {"ends_at"}
    other_year = SCHEDULE.model_copy(update={"starts_at": local(2027, 1, 5, 9), "ends_at": local(2027, 1, 5, 12)})
    assert fields(given(ACTIVITIES).when(other_year).raises(ValidationFailed)) == {"starts_at", "ends_at"}


# --- reschedule and cancel ---------------------------------------------------------------------

RESCHEDULE = RescheduleActivity(activity_id="insp-1", starts_at=local(2026, 3, 20, 9), ends_at=local(2026, 3, 20, 11),
                                reason="与区人大会议冲突")


def test_reschedule_moves_the_activity_and_recomputes_its_phase():
    given(ACTIVITIES, SCHEDULED).when(RESCHEDULE).then(ActivityRescheduled(
        activity_id="insp-1", starts_at=local(2026, 3, 20, 9), ends_at=local(2026, 3, 20, 11), place="曼听社区",
        phase="mobilisation", reason="与区人大会议冲突"))


def test_reschedule_to_the_same_time_and_place_is_refused():
    same = RESCHEDULE.model_copy(update={"starts_at": SCHEDULED.starts_at, "ends_at": SCHEDULED.ends_at})
    given(ACTIVITIES, SCHEDULED).when(same).raises(ValidationFailed)


def test_reschedule_checks_the_window():
    bad = RESCHEDULE.model_copy(update={"ends_at": local(2026, 3, 19, 9)})
    given(ACTIVITIES, SCHEDULED).when(bad).raises(ValidationFailed)


def test_unknown_activity_is_not_found():
    given(ACTIVITIES).when(RESCHEDULE).raises(NotFound)
    given(ACTIVITIES).when(CancelActivity(activity_id="insp-1", reason="下雨")).raises(NotFound)


def test_cancel_with_reason():
    cmd = CancelActivity(activity_id="insp-1", reason="暴雨预警")
    given(ACTIVITIES, SCHEDULED).when(cmd).then(ActivityCancelled(activity_id="insp-1", reason="暴雨预警"))


def test_cancelled_activity_refuses_everything():
    cancelled = ActivityCancelled(activity_id="insp-1", reason="暴雨预警")
    given(ACTIVITIES, SCHEDULED, cancelled).when(CancelActivity(activity_id="insp-1", reason="再取消")).raises(Conflict)
    given(ACTIVITIES, SCHEDULED, cancelled).when(RESCHEDULE).raises(Conflict)
    given(ACTIVITIES, SCHEDULED, cancelled).when(InviteDelegates(activity_id="insp-1", group_ids=["g1"])).raises(Conflict)


def test_an_activity_that_took_place_cannot_be_moved_or_cancelled():
    attended = AttendanceRecorded(activity_id="insp-1", delegate_id="d1", status="present")
    given(ACTIVITIES, SCHEDULED, INVITED, attended).when(RESCHEDULE).raises(Conflict)
    given(ACTIVITIES, SCHEDULED, INVITED, attended).when(CancelActivity(activity_id="insp-1", reason="x" * 3)).raises(Conflict)
    opinion = OpinionRaised(activity_id="insp-1", opinion_id="op-1", year=2026, category="进度", content="加快",
                            raised_by=["d1"], raised_on=date(2026, 5, 20))
    given(ACTIVITIES, SCHEDULED, opinion).when(RESCHEDULE).raises(Conflict)


# --- invitations -------------------------------------------------------------------------------

def test_inviting_a_group_invites_its_active_members_and_skips_inactive_ones():
    given(ACTIVITIES, SCHEDULED).when(InviteDelegates(activity_id="insp-1", group_ids=["g1"])).then(INVITED)


def test_inviting_named_delegates():
    given(ACTIVITIES, SCHEDULED).when(InviteDelegates(activity_id="insp-1", delegate_ids=["d4"])).then(
        DelegatesInvited(activity_id="insp-1", delegate_ids=["d4"]))


def test_inviting_an_inactive_delegate_is_refused():
    err = given(ACTIVITIES, SCHEDULED).when(InviteDelegates(activity_id="insp-1", delegate_ids=["d4", "d9"])).raises(
        ValidationFailed)
    assert fields(err) == {"delegate_ids.1"}


def test_a_delegate_is_inactive_before_their_term_starts():
    early = scheduled(starts_at=local(2026, 2, 10, 9), ends_at=local(2026, 2, 10, 11))
    refs = replace(REFS, delegates={**REFS.delegates, "d5": DelegateRef("d5", "新代表", date(2026, 3, 1))})
    given(activity_decider(refs, SECRET), early).when(
        InviteDelegates(activity_id="insp-1", delegate_ids=["d5"])).raises(ValidationFailed)


def test_inviting_unknown_delegates_or_groups_is_refused():
    err = given(ACTIVITIES, SCHEDULED).when(
        InviteDelegates(activity_id="insp-1", group_ids=["nope", "g-old"], delegate_ids=["zz"])).raises(ValidationFailed)
    assert fields(err) == {"group_ids.0", "group_ids.1", "delegate_ids.0"}


def test_inviting_again_adds_only_new_delegates():
    given(ACTIVITIES, SCHEDULED, INVITED).when(InviteDelegates(activity_id="insp-1", group_ids=["g1"])).then()
    given(ACTIVITIES, SCHEDULED, INVITED).when(
        InviteDelegates(activity_id="insp-1", group_ids=["g2"], delegate_ids=["d1"])).then(
        DelegatesInvited(activity_id="insp-1", delegate_ids=["d4"], group_ids=["g2"]))



def test_a_project_cancelled_by_the_activity_date_takes_no_activities():
    cmd = SCHEDULE.model_copy(update={"project_ids": [CANCELLED]})  # cancelled on 2026-05-01, activity on 05-20
    assert fields(given(ACTIVITIES).when(cmd).raises(ValidationFailed)) == {"project_ids.0"}
    earlier = cmd.model_copy(update={"starts_at": local(2026, 4, 20, 9), "ends_at": local(2026, 4, 20, 11)})
    assert given(ACTIVITIES).when(earlier)._decide()[0].project_ids == [CANCELLED]
