"""Events of the delegates service that other services rely on (Delegate, Group, Supervision).

The delegates service adds its commands and further events here; the events below are the
contract other services consume: keep their fields (add new ones with defaults).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from shared.contracts.base import Event, personal, registry
from shared.contracts.projects import Location

SERVICE = "delegates"

Level = Literal["township", "city", "prefecture", "province", "national"]
GroupKind = Literal["township", "subdistrict", "farm", "district"]


def delegate_stream_id(delegate_id: str) -> str:
    """The event stream of a delegate."""
    return f"delegate-{delegate_id}"


def group_stream_id(group_id: str) -> str:
    """The event stream of a group."""
    return f"group-{group_id}"


def supervision_stream_id(project_id: str) -> str:
    """The event stream of a project's supervision assignment."""
    return f"supervision-{project_id}"


@registry.register
class DelegateRegistered(Event):
    """A delegate entered the roster."""

    type = "DelegateRegistered"

    delegate_id: str
    name: str
    gender: Literal["男", "女"]
    ethnicity: str
    level: Level
    constituency: str = Field(description="选区所在乡镇/街道")
    occupation: str = ""
    work_unit: str = ""
    home: Location | None = personal("居住地 (exact location is personal data)", default=None)
    work: Location | None = None
    phone: str | None = personal("联系电话", default=None)
    term_start: date


@registry.register
class DelegateDetailsChanged(Event):
    """A delegate's details changed; carries the full new details."""

    type = "DelegateDetailsChanged"

    delegate_id: str
    name: str
    gender: Literal["男", "女"]
    ethnicity: str
    level: Level
    constituency: str
    occupation: str = ""
    work_unit: str = ""
    home: Location | None = personal("居住地", default=None)
    work: Location | None = None
    phone: str | None = personal("联系电话", default=None)
    reason: str = ""


@registry.register
class DelegateTermEnded(Event):
    """A delegate's term ended: no longer active, no new invitations or duties."""

    type = "DelegateTermEnded"

    delegate_id: str
    ended_on: date
    reason: str


@registry.register
class GroupFormed(Event):
    """A delegate group (代表小组) was formed for a year."""

    type = "GroupFormed"

    group_id: str
    year: int
    name: str
    kind: GroupKind
    township: str = Field(description="the township / sub-district / farm area it is organised in")
    location: Location | None = None


@registry.register
class GroupMemberJoined(Event):
    """A delegate joined a group for the year (one group per delegate per year)."""

    type = "GroupMemberJoined"

    group_id: str
    year: int
    delegate_id: str


@registry.register
class GroupMemberLeft(Event):
    """A delegate left a group."""

    type = "GroupMemberLeft"

    group_id: str
    year: int
    delegate_id: str
    reason: str


@registry.register
class GroupLeaderAppointed(Event):
    """A member was appointed the group's leader (组长)."""

    type = "GroupLeaderAppointed"

    group_id: str
    year: int
    delegate_id: str


@registry.register
class LeaderRegistered(Event):
    """A standing-committee leader entered the small registry."""

    type = "LeaderRegistered"

    leader_id: str
    name: str
    title: str


@registry.register
class CommitteeRegistered(Event):
    """A special committee (专工委) entered the small registry."""

    type = "CommitteeRegistered"

    committee_id: str
    name: str


@registry.register
class SupervisionAssigned(Event):
    """A project's supervision (leader, committee, group) was assigned or changed (with a reason)."""

    type = "SupervisionAssigned"

    project_id: str
    year: int
    leader_id: str
    committee_id: str
    group_id: str
    reason: str = ""


@registry.register
class ContactDutyAssigned(Event):
    """Named delegates became responsible for following a project (代表联系责任制)."""

    type = "ContactDutyAssigned"

    project_id: str
    year: int
    delegate_ids: list[str]
    override_reason: str = Field(default="", description="why delegates outside the assigned group are named")


@registry.register
class ContactDutyReleased(Event):
    """A delegate's contact duty on a project ended."""

    type = "ContactDutyReleased"

    project_id: str
    year: int
    delegate_id: str
    reason: str
