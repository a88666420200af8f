"""Contracts of the delegates service (Delegate, Group, Supervision): events, commands, queries.

The events are the contract other services consume: keep their fields (add new ones with
defaults). Commands go to `huimin.cmd.delegates.<name>`; the read queries are answered by the
projection view `delegates` (`huimin.qry.delegates.<name>`), except `suggest`, which the
delegates service answers itself from its own tables (docs/delegates.md).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from shared.contracts.base import Command, Contract, Event, Query, personal, registry
from shared.contracts.projects import Location, Township, Year

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


def leader_stream_id(leader_id: str) -> str:
    """The event stream of a standing-committee leader."""
    return f"leader-{leader_id}"


def committee_stream_id(committee_id: str) -> str:
    """The event stream of a special committee."""
    return f"committee-{committee_id}"


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
    committee_ids: list[str] = Field(default=[], description="分管的专工委 (used by the suggestion)")


@registry.register
class CommitteeRegistered(Event):
    """A special committee (专工委) entered the small registry."""

    type = "CommitteeRegistered"

    committee_id: str
    name: str
    categories: list[str] = Field(default=[], description="对口的项目类别, e.g. 教育 (used by the suggestion)")


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


# --- Commands (huimin.cmd.delegates.<name>) -------------------------------------------------------

DelegateId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,40}$", description="代表编号, e.g. d001")]
GroupId = Annotated[str, Field(pattern=r"^[a-z0-9\-]{2,40}$", description="代表小组编号, e.g. gasa-2026")]
RegistryId = Annotated[str, Field(pattern=r"^[a-z0-9_\-]{2,32}$", description="领导/专工委编号")]
ProjectRef = Annotated[str, Field(pattern=r"^[A-Za-z0-9_:\-]{1,100}$", description="项目编号, e.g. project-2026-01")]
PersonName = Annotated[str, Field(min_length=1, max_length=40)]
Phone = Annotated[str, Field(pattern=r"^\+?[0-9][0-9\- ]{4,19}$", description="手机或座机号码")]
Reason = Annotated[str, Field(min_length=2, max_length=500)]
Gender = Literal["男", "女"]
# `name` is the command's subject token (a ClassVar), so a field called "name" on the wire is aliased.
_NAMED = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)


class DelegateDetailsFields(Command):
    """The details of a delegate the office keeps (a base of registration and change, not a request)."""

    delegate_id: DelegateId
    full_name: PersonName = Field(alias="name", description="姓名")
    gender: Gender
    ethnicity: str = Field(min_length=2, max_length=10, description="民族, e.g. 傣族")
    level: Level
    constituency: Township = Field(description="选区所在乡镇/街道")
    occupation: str = Field(default="", max_length=100)
    work_unit: str = Field(default="", max_length=100)
    home: Location | None = personal("居住地 (exact location is personal data)", default=None)
    work: Location | None = None
    phone: Phone | None = personal("联系电话", default=None)

    model_config = _NAMED

    def details(self) -> dict[str, object]:
        """The details as event fields (the wire name of `full_name` is `name`)."""
        return self.model_dump(exclude={"term_start", "reason"})


class RegisterDelegate(DelegateDetailsFields):
    """Enter a delegate in the roster."""

    name = "register_delegate"

    term_start: date = Field(description="本届任期开始 (business date, not in the future)")


class ChangeDelegateDetails(DelegateDetailsFields):
    """Replace a delegate's details (all of them); unchanged details record nothing."""

    name = "change_delegate_details"

    reason: str = Field(default="", max_length=500)


class EndDelegateTerm(Command):
    """End a delegate's term: no longer active, no new group memberships or duties."""

    name = "end_delegate_term"

    delegate_id: DelegateId
    ended_on: date = Field(description="任期结束日期 (business date, not in the future)")
    reason: Reason


class RosterRow(Contract):
    """One row of an office roster file, cells as text keyed by field name (see docs/delegates.md)."""

    row: int = Field(ge=1, description="row number in the file, for the report")
    fields: dict[str, str | None]


class ImportRoster(Command):
    """Register or update delegates from roster rows; answers with a row-level report."""

    name = "import_roster"

    rows: list[RosterRow] = Field(min_length=1, max_length=500, description="at most 500 rows per request")
    reason: str = Field(default="名册导入", max_length=200, description="recorded on changed details")


class FormGroup(Command):
    """Form a delegate group (代表小组) for a year."""

    name = "form_group"

    group_id: GroupId
    year: Year
    group_name: str = Field(alias="name", min_length=2, max_length=60)
    kind: GroupKind
    township: Township
    location: Location | None = None

    model_config = _NAMED


class AddGroupMember(Command):
    """Make an active delegate a member of a group for the group's year (one group per year)."""

    name = "add_group_member"

    group_id: GroupId
    delegate_id: DelegateId


class RemoveGroupMember(Command):
    """Take a delegate out of a group."""

    name = "remove_group_member"

    group_id: GroupId
    delegate_id: DelegateId
    reason: Reason


class AppointGroupLeader(Command):
    """Appoint a member the group's leader (组长)."""

    name = "appoint_group_leader"

    group_id: GroupId
    delegate_id: DelegateId


class RegisterLeader(Command):
    """Enter a standing-committee leader in the registry."""

    name = "register_leader"

    leader_id: RegistryId
    leader_name: PersonName = Field(alias="name")
    title: str = Field(min_length=2, max_length=40, description="职务, e.g. 副主任")
    committee_ids: list[RegistryId] = Field(default_factory=list, max_length=10)

    model_config = _NAMED


class RegisterCommittee(Command):
    """Enter a special committee (专工委) in the registry."""

    name = "register_committee"

    committee_id: RegistryId
    committee_name: str = Field(alias="name", min_length=2, max_length=60)
    categories: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(default_factory=list, max_length=20)

    model_config = _NAMED


class AssignSupervision(Command):
    """Assign (or change, with a reason) a project's leader, committee and group."""

    name = "assign_supervision"

    project_id: ProjectRef
    leader_id: RegistryId
    committee_id: RegistryId
    group_id: GroupId
    reason: str = Field(default="", max_length=500, description="required when changing an assignment")


class AssignContactDuty(Command):
    """Name delegates responsible for following a project (代表联系责任制)."""

    name = "assign_contact_duty"

    project_id: ProjectRef
    delegate_ids: list[DelegateId] = Field(min_length=1, max_length=30)
    override_reason: str = Field(default="", max_length=500,
                                 description="required when a delegate is not in the assigned group")

    @model_validator(mode="after")
    def _distinct(self) -> AssignContactDuty:
        if len(set(self.delegate_ids)) != len(self.delegate_ids):
            raise ValueError("delegate_ids repeat a delegate")
        return self


class ReleaseContactDuty(Command):
    """End a delegate's contact duty on a project."""

    name = "release_contact_duty"

    project_id: ProjectRef
    delegate_id: DelegateId
    reason: Reason


# --- Queries ----------------------------------------------------------------------------------------

class SuggestSupervision(Query):
    """Rank groups, delegates, committees and leaders for a project (相邻相近原则).

    Answered by the delegates service itself on `huimin.qry.delegates.suggest`.
    """

    name = "suggest"

    project_id: ProjectRef
    group_id: GroupId | None = Field(default=None, description="rank only this group's members as delegates")
    limit: int = Field(default=10, ge=1, le=500)


class ListDelegates(Query):
    """Delegates matching the filters (projection view `delegates`)."""

    name = "list"

    group_id: GroupId | None = None
    level: Level | None = None
    active: bool | None = None
    township: str | None = Field(default=None, max_length=30, description="选区 or work township")
    year: Year | None = Field(default=None, description="the year whose group is shown (default: latest)")
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=1_000_000)  # bounded: PostgreSQL OFFSET is a bigint


class GetDelegate(Query):
    """One delegate with every group membership."""

    name = "get"

    delegate_id: DelegateId


class ListGroups(Query):
    """Delegate groups with their member counts; member ids only when asked for (`members`), paged by `offset`."""

    name = "groups"

    year: Year | None = None
    group_id: GroupId | None = Field(default=None, description="only this group (to page through its members)")
    members: int = Field(default=0, ge=0, le=1000,
                         description="list up to this many member ids of each group (0: only member_count)")
    offset: int = Field(default=0, ge=0, le=1_000_000, description="skip this many member ids of each group")


class ListSupervision(Query):
    """Supervision assignments with their contact delegates, one page of projects at a time."""

    name = "supervision"

    year: Year | None = None
    project_id: ProjectRef | None = None
    limit: int = Field(default=100, ge=1, le=500, description="projects per page")
    offset: int = Field(default=0, ge=0, le=1_000_000, description="projects to skip: the previous page's next_offset")


class ListLeaders(Query):
    """The standing committee's leaders."""

    name = "leaders"


class ListCommittees(Query):
    """The special committees."""

    name = "committees"
