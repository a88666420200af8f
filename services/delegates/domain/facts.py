"""Facts of other aggregates (and of the projects service's copy) that a decision needs.

Handlers read them from the service's own tables inside the command's transaction and hand them
to the deciders, which stay pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from shared.contracts.projects import Location


@dataclass(frozen=True)
class DelegateFact:
    """A delegate as the rules see it: active or not, and where they live and work."""

    delegate_id: str
    name: str
    active: bool = True
    level: str = "city"
    constituency: str = ""
    home: Location | None = None
    work: Location | None = None


@dataclass(frozen=True)
class GroupFact:
    """A delegate group of a year."""

    group_id: str
    year: int
    name: str
    kind: str = "township"
    township: str = ""
    location: Location | None = None
    leader_id: str | None = None


@dataclass(frozen=True)
class ProjectFact:
    """A voted project, from the copy of the projects service's events."""

    project_id: str
    year: int
    title: str = ""
    category: str = ""
    townships: tuple[str, ...] = ()
    locations: tuple[Location, ...] = ()
    cancelled_on: date | None = None  # the projects service cancelled it (ProjectCancelled)


@dataclass(frozen=True)
class YearFact:
    """A campaign year as the projects service announced it: open = opened and not closed."""

    year: int
    opened: bool = False
    closed: bool = False

    @property
    def open(self) -> bool:
        """Whether work of the year may be recorded."""
        return self.opened and not self.closed


@dataclass(frozen=True)
class Facts:
    """The slice of cross-aggregate facts one decision needs (empty where irrelevant)."""

    year: YearFact | None = None
    project: ProjectFact | None = None
    delegates: Mapping[str, DelegateFact] = field(default_factory=dict)
    memberships: Mapping[str, str] = field(default_factory=dict)  # delegate id -> group id, in the year concerned
    group: GroupFact | None = None
    leader_ids: frozenset[str] = frozenset()
    committee_ids: frozenset[str] = frozenset()

    def year_closed(self) -> bool:
        """Whether the year concerned is known to be closed."""
        return self.year is not None and self.year.closed
