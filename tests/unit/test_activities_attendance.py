"""Activity decider: attendance by staff, check-in with the activity's code, walk-ins, corrections."""

from __future__ import annotations

from datetime import timedelta

import pydantic
import pytest

from services.activities.attendance import check_in_window
from services.activities.checkin import check_in_code
from shared.contracts.activities import (
    AttendanceCorrected,
    AttendanceEntry,
    AttendanceRecorded,
    CheckIn,
    CorrectAttendance,
    RecordAttendance,
)
from shared.decider import DecisionContext
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.support import given
from tests.unit.activities_data import ACTIVITIES, ENDS, INVITED, SCHEDULED, SECRET, STARTS, local

DURING = STARTS + timedelta(minutes=30)


def record(*entries: AttendanceEntry) -> RecordAttendance:
    return RecordAttendance(activity_id="insp-1", entries=list(entries))


def fields(err) -> set[str]:
    return {d["field"] for d in err.details}


# --- staff records --------------------------------------------------------------------------------

def test_staff_record_present_absent_and_excused_invitees():
    cmd = record(AttendanceEntry(delegate_id="d1", status="present"),
                 AttendanceEntry(delegate_id="d2", status="absent"),
                 AttendanceEntry(delegate_id="d3", status="excused", excuse_reason="住院治疗"))
    given(ACTIVITIES, SCHEDULED, INVITED).when(cmd).then(
        AttendanceRecorded(activity_id="insp-1", delegate_id="d1", status="present"),
        AttendanceRecorded(activity_id="insp-1", delegate_id="d2", status="absent"),
        AttendanceRecorded(activity_id="insp-1", delegate_id="d3", status="excused", excuse_reason="住院治疗"),
    )


def test_attendance_cannot_be_recorded_before_the_activity_starts():
    cmd = record(AttendanceEntry(delegate_id="d1", status="present"))
    given(ACTIVITIES, SCHEDULED, INVITED).when(cmd, now=STARTS - timedelta(minutes=1)).raises(Conflict, match="started")


def test_excused_needs_a_reason_and_only_excused_has_one():
    cmd = record(AttendanceEntry(delegate_id="d1", status="excused"),
                 AttendanceEntry(delegate_id="d2", status="present", excuse_reason="迟到"))
    err = given(ACTIVITIES, SCHEDULED, INVITED).when(cmd).raises(ValidationFailed)
    assert fields(err) == {"entries.0.excuse_reason", "entries.1.excuse_reason"}


def test_uninvited_delegates_must_be_marked_as_walk_ins():
    err = given(ACTIVITIES, SCHEDULED, INVITED).when(record(AttendanceEntry(delegate_id="d4", status="present"))).raises(
        ValidationFailed)
    assert fields(err) == {"entries.0.delegate_id"}


def test_walk_ins_are_recorded_as_present_and_not_invited():
    cmd = record(AttendanceEntry(delegate_id="d4", status="present", walk_in=True))
    given(ACTIVITIES, SCHEDULED, INVITED).when(cmd).then(
        AttendanceRecorded(activity_id="insp-1", delegate_id="d4", status="present", invited=False))


def test_walk_in_rules():
    cmd = record(AttendanceEntry(delegate_id="d4", status="absent", walk_in=True),
                 AttendanceEntry(delegate_id="d1", status="present", walk_in=True),
                 AttendanceEntry(delegate_id="d9", status="present", walk_in=True),
                 AttendanceEntry(delegate_id="zz", status="present", walk_in=True))
    err = given(ACTIVITIES, SCHEDULED, INVITED).when(cmd).raises(ValidationFailed)
    assert fields(err) == {"entries.0.status", "entries.1.walk_in", "entries.2.delegate_id", "entries.3.delegate_id"}


def test_a_delegate_named_twice_is_refused():
    cmd = record(AttendanceEntry(delegate_id="d1", status="present"), AttendanceEntry(delegate_id="d1", status="absent"))
    given(ACTIVITIES, SCHEDULED, INVITED).when(cmd).raises(ValidationFailed)


def test_recording_again_is_a_conflict_pointing_to_corrections():
    first = AttendanceRecorded(activity_id="insp-1", delegate_id="d1", status="present")
    err = given(ACTIVITIES, SCHEDULED, INVITED, first).when(record(AttendanceEntry(delegate_id="d1", status="absent"))
                                                            ).raises(Conflict)
    assert err.details == {"delegate_ids": ["d1"]}


def test_no_attendance_on_an_unknown_activity():
    given(ACTIVITIES).when(record(AttendanceEntry(delegate_id="d1", status="present"))).raises(NotFound)


# --- check-in --------------------------------------------------------------------------------------

CODE = check_in_code(SECRET, "insp-1", STARTS)


def check_in(delegate_id: str = "d1", code: str = CODE) -> CheckIn:
    return CheckIn(activity_id="insp-1", delegate_id=delegate_id, code=code)


def test_code_is_deterministic_six_digits_and_changes_with_the_start():
    assert CODE == check_in_code(SECRET, "insp-1", STARTS) and len(CODE) == 6 and CODE.isdigit()
    assert CODE != check_in_code(SECRET, "insp-1", STARTS + timedelta(days=1))
    assert CODE != check_in_code(b"other", "insp-1", STARTS)


def test_invitee_checks_in_with_the_code_while_the_activity_runs():
    given(ACTIVITIES, SCHEDULED, INVITED).when(check_in(), now=DURING).then(
        AttendanceRecorded(activity_id="insp-1", delegate_id="d1", status="present", source="check_in"))


def test_check_in_is_open_only_between_start_and_end():
    given(ACTIVITIES, SCHEDULED, INVITED).when(check_in(), now=STARTS - timedelta(seconds=1)).raises(Conflict)
    given(ACTIVITIES, SCHEDULED, INVITED).when(check_in(), now=ENDS + timedelta(seconds=1)).raises(Conflict)
    given(ACTIVITIES, SCHEDULED, INVITED).when(check_in(), now=ENDS).then(
        AttendanceRecorded(activity_id="insp-1", delegate_id="d1", status="present", source="check_in"))


def test_wrong_code_is_refused():
    wrong = f"{(int(CODE) + 1) % 1_000_000:06d}"
    err = given(ACTIVITIES, SCHEDULED, INVITED).when(check_in(code=wrong), now=DURING).raises(ValidationFailed)
    assert fields(err) == {"code"}


def test_uninvited_delegate_checking_in_is_a_walk_in_if_active():
    given(ACTIVITIES, SCHEDULED, INVITED).when(check_in("d4"), now=DURING).then(
        AttendanceRecorded(activity_id="insp-1", delegate_id="d4", status="present", invited=False, source="check_in"))
    given(ACTIVITIES, SCHEDULED, INVITED).when(check_in("d9"), now=DURING).raises(ValidationFailed)


def test_checking_in_twice_is_a_conflict():
    done = AttendanceRecorded(activity_id="insp-1", delegate_id="d1", status="present", source="check_in")
    given(ACTIVITIES, SCHEDULED, INVITED, done).when(check_in(), now=DURING).raises(Conflict)


def test_a_delegate_checks_in_only_for_themself():
    scenario = given(ACTIVITIES, SCHEDULED, INVITED).when(check_in("d1"), now=DURING)
    scenario.actor = "delegate:d2"
    scenario.raises(Forbidden)
    scenario.actor = "delegate:d1"
    assert scenario._decide()[0].delegate_id == "d1"


def test_check_in_window_is_shown_to_staff_only():
    state = ACTIVITIES.fold([SCHEDULED])
    staff = DecisionContext(now=DURING, actor="office:王芳")
    assert check_in_window(state, SECRET, staff) == {"activity_id": "insp-1", "code": CODE, "valid_from": STARTS,
                                                     "valid_until": ENDS}
    with pytest.raises(Forbidden):
        check_in_window(state, SECRET, DecisionContext(now=DURING, actor="delegate:d1"))
    with pytest.raises(NotFound):
        check_in_window(ACTIVITIES.initial, SECRET, staff)


# --- corrections -----------------------------------------------------------------------------------

ABSENT = AttendanceRecorded(activity_id="insp-1", delegate_id="d2", status="absent")


def correct(status: str, excuse: str = "", delegate_id: str = "d2") -> CorrectAttendance:
    return CorrectAttendance(activity_id="insp-1", delegate_id=delegate_id, status=status, excuse_reason=excuse,
                             reason="补交请假条")


def test_correction_keeps_the_original_status_and_needs_a_reason():
    given(ACTIVITIES, SCHEDULED, INVITED, ABSENT).when(correct("excused", "外出学习")).then(AttendanceCorrected(
        activity_id="insp-1", delegate_id="d2", previous_status="absent", status="excused", excuse_reason="外出学习",
        reason="补交请假条"))


def test_correction_after_a_correction_sees_the_corrected_status():
    corrected = AttendanceCorrected(activity_id="insp-1", delegate_id="d2", previous_status="absent", status="excused",
                                    excuse_reason="外出学习", reason="补交请假条")
    events = given(ACTIVITIES, SCHEDULED, INVITED, ABSENT, corrected).when(correct("present"))._decide()
    assert events[0].previous_status == "excused"


def test_correction_needs_something_recorded_and_something_changed():
    given(ACTIVITIES, SCHEDULED, INVITED).when(correct("present")).raises(Conflict)
    given(ACTIVITIES, SCHEDULED, INVITED, ABSENT).when(correct("absent")).raises(ValidationFailed)
    given(ACTIVITIES, SCHEDULED, INVITED, ABSENT).when(correct("excused")).raises(ValidationFailed)


def test_a_walk_in_can_only_be_present():
    walk_in = AttendanceRecorded(activity_id="insp-1", delegate_id="d4", status="present", invited=False)
    given(ACTIVITIES, SCHEDULED, INVITED, walk_in).when(correct("absent", delegate_id="d4")).raises(ValidationFailed)


def test_correction_requires_a_reason_in_the_command():
    with pytest.raises(pydantic.ValidationError):
        CorrectAttendance(activity_id="insp-1", delegate_id="d2", status="present", reason="")


def test_activity_start_date_in_the_city_zone():
    late = SCHEDULED.model_copy(update={"starts_at": local(2026, 5, 21, 0, 30), "ends_at": local(2026, 5, 21, 2)})
    assert str(ACTIVITIES.fold([late]).day) == "2026-05-21"
