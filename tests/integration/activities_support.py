"""Givens of the activities integration tests: other services' events published as their relays would."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

from nats.js import JetStreamContext

from services.activities.main import build
from shared.config import Settings
from shared.contracts.base import Event, EventEnvelope
from shared.contracts.delegates import (
    DelegateRegistered,
    DelegateTermEnded,
    GroupFormed,
    GroupLeaderAppointed,
    GroupMemberJoined,
)
from shared.contracts.projects import PhaseWindow, ProjectVoted, YearCalendar, YearOpened
from shared.outbox import publish_events
from shared.service import ServiceRuntime
from shared.timeutil import CITY_TZ
from tests.conftest import eventually

NOW = datetime.now(UTC)
THIS_YEAR = NOW.astimezone(CITY_TZ).year
PAST_YEAR = THIS_YEAR - 1  # everything in it happened before now: records after the fact are allowed
DELEGATES = {"d1": "岩温", "d2": "玉香", "d3": "李明", "d4": "张华", "d9": "王离"}


def calendar(year: int) -> YearCalendar:
    """The default calendar of a year (DESIGN.md §2)."""
    return YearCalendar(
        session_start=date(year, 1, 16), session_end=date(year, 1, 20), plan_deadline=date(year, 2, 20),
        mobilisation=PhaseWindow(start=date(year, 2, 1), end=date(year, 3, 31)),
        supervision=PhaseWindow(start=date(year, 4, 1), end=date(year, 11, 30)),
        summary=PhaseWindow(start=date(year, 12, 1), end=date(year, 12, 31)),
    )


def project_id(year: int, code: str) -> str:
    return f"project-{year}-{code}"


def group_id(year: int) -> str:
    return f"yjh-{year}"


class ForeignEvents:
    """Publishes other services' events on HUIMIN_EVENTS, numbering each stream's versions."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self.versions: dict[str, int] = defaultdict(int)

    async def emit(self, service: str, stream_id: str, *events: Event) -> None:
        """Publish events of one stream, in order."""
        envelopes = []
        for event in events:
            self.versions[stream_id] += 1
            envelopes.append(EventEnvelope(
                event_id=uuid4(), type=event.type, schema_version=event.schema_version, stream_id=stream_id,
                version=self.versions[stream_id], occurred_at=NOW, recorded_at=NOW, actor="test",
                correlation_id="test", body=event.model_dump(mode="json")))
        await publish_events(self.js, service, envelopes, 5)


async def seed_year(world: ForeignEvents, year: int) -> None:
    """A year with its calendar, two projects and one group (d9's term ended before the year)."""
    await world.emit("projects", f"year-{year}", YearOpened(year=year, calendar=calendar(year)))
    for code, title in (("01", "允景洪街道老旧小区改造提升"), ("02", "嘎洒镇农村饮水安全巩固提升")):
        await world.emit("projects", project_id(year, code), ProjectVoted(
            project_id=project_id(year, code), year=year, code=code, title=title, category="城乡建设", lead_unit="jhzjj",
            votes_for=200, votes_against=3, votes_abstain=2, voted_on=date(year, 1, 20)))
    gid = group_id(year)
    await world.emit("delegates", f"group-{gid}", GroupFormed(group_id=gid, year=year, name="允景洪街道代表小组",
                                                              kind="subdistrict", township="允景洪街道"),
                     *[GroupMemberJoined(group_id=gid, year=year, delegate_id=d) for d in ("d1", "d2", "d3", "d9")],
                     GroupLeaderAppointed(group_id=gid, year=year, delegate_id="d1"))


async def seed_delegates(world: ForeignEvents) -> None:
    """Five delegates; d9 left office at the start of the past year."""
    for delegate_id, name in DELEGATES.items():
        await world.emit("delegates", f"delegate-{delegate_id}", DelegateRegistered(
            delegate_id=delegate_id, name=name, gender="男", ethnicity="傣族", level="city", constituency="允景洪街道",
            term_start=date(PAST_YEAR - 3, 1, 1)))
    await world.emit("delegates", "delegate-d9", DelegateTermEnded(delegate_id="d9", ended_on=date(PAST_YEAR, 1, 1),
                                                                   reason="调离本市"))


async def copy_counts(rt: ServiceRuntime) -> dict[str, Any]:
    """How much of the other services' data the service's copy holds."""
    assert rt.pool is not None
    row = await rt.pool.fetchrow(
        """SELECT (SELECT count(*) FROM ref_years) AS years, (SELECT count(*) FROM ref_projects) AS projects,
                  (SELECT count(*) FROM ref_group_members) AS members,
                  (SELECT count(*) FROM ref_delegates WHERE ended_on IS NOT NULL) AS ended""")
    return dict(row)


async def start_with_world(settings: Settings, nc: Any) -> tuple[ServiceRuntime, ForeignEvents]:
    """The activities service started, with two years of other services' data in its copy."""
    rt = build(settings)
    await rt.start()  # declares the streams
    world = ForeignEvents(nc.jetstream())
    await seed_delegates(world)
    for year in (PAST_YEAR, THIS_YEAR):
        await seed_year(world, year)
    expected = {"years": 2, "projects": 4, "members": 8, "ended": 1}

    async def copied() -> bool:
        return await copy_counts(rt) == expected

    await eventually(copied)
    return rt, world
