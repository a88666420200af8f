"""Delegates service through NATS: registry, groups, supervision rules, the suggestion, concurrency.

The projects service's events are published to HUIMIN_EVENTS here exactly as its outbox relay
would, so these tests depend only on the contracts, not on the projects service's code.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest

from services.delegates.main import build
from shared.contracts.base import Command, Event
from shared.contracts.delegates import (
    SERVICE,
    AddGroupMember,
    AppointGroupLeader,
    AssignContactDuty,
    AssignSupervision,
    ChangeDelegateDetails,
    EndDelegateTerm,
    FormGroup,
    RegisterCommittee,
    RegisterDelegate,
    RegisterLeader,
    ReleaseContactDuty,
    SuggestSupervision,
)
from shared.contracts.projects import (
    Location,
    PhaseWindow,
    ProjectVoted,
    YearCalendar,
    YearClosed,
    YearOpened,
    project_stream_id,
    year_stream_id,
)
from shared.rpc import RpcClient
from shared.subjects import EVENTS_STREAM, command_subject, event_subject, query_subject
from tests.conftest import eventually
from tests.integration.views import Stream

CALENDAR = YearCalendar(
    session_start=date(2026, 1, 15), session_end=date(2026, 1, 19), plan_deadline=date(2026, 2, 19),
    mobilisation=PhaseWindow(start=date(2026, 2, 1), end=date(2026, 3, 31)),
    supervision=PhaseWindow(start=date(2026, 4, 1), end=date(2026, 11, 30)),
    summary=PhaseWindow(start=date(2026, 12, 1), end=date(2026, 12, 31)),
)
GASA = Location(township="嘎洒镇", lat=21.9560, lon=100.7600)
MENGLONG = Location(township="勐龙镇", lat=21.6100, lon=100.6300)


class ProjectsFeed:
    """Publishes projects-service events the way its outbox relay does (subject, Nats-Msg-Id)."""

    def __init__(self, nc: Any) -> None:
        self.js, self.streams = nc.jetstream(), {}

    async def publish(self, stream_id: str, event: Event) -> None:
        """Publish the next event of a projects stream."""
        stream = self.streams.setdefault(stream_id, Stream(stream_id, "projects"))
        env = stream.envelope(event)
        await self.js.publish(event_subject("projects", stream_id, env.type), env.model_dump_json().encode(),
                              headers={"Nats-Msg-Id": str(env.event_id)}, stream=EVENTS_STREAM)

    async def open_year(self, year: int = 2026) -> None:
        """The year opens."""
        await self.publish(year_stream_id(year), YearOpened(year=year, calendar=CALENDAR))

    async def vote(self, code: str, *locations: Location, year: int = 2026, category: str = "农业农村") -> str:
        """A project is voted, at these places."""
        await self.publish(project_stream_id(year, code), ProjectVoted(
            project_id=project_stream_id(year, code), year=year, code=code, title=f"项目{code}", category=category,
            lead_unit="jhslj", townships=[loc.township for loc in locations], locations=list(locations),
            votes_for=200, votes_against=3, votes_abstain=2, voted_on=date(year, 1, 20)))
        return project_stream_id(year, code)


class Office:
    """The standing committee office sending commands and queries."""

    def __init__(self, client: RpcClient) -> None:
        self.client = client

    async def send(self, cmd: Command) -> dict[str, Any]:
        """The reply of a command, ok or not."""
        return await self.client.request(command_subject(SERVICE, cmd.name), cmd, actor="office:test")

    async def ok(self, cmd: Command) -> dict[str, Any]:
        """The reply of a command that must succeed."""
        reply = await self.send(cmd)
        assert reply["ok"], reply
        return reply

    async def suggest(self, project_id: str, **kwargs: Any) -> dict[str, Any]:
        """The suggestion, once the service's copy has the project."""
        async def ready() -> dict[str, Any] | None:
            r = await self.client.request(query_subject(SERVICE, "suggest"),
                                          SuggestSupervision(project_id=project_id, **kwargs))
            return r if r["ok"] else None
        return await eventually(ready)

    async def delegate(self, delegate_id: str, name: str, home: Location, **kwargs: Any) -> None:
        """Register an active city-level delegate living at `home`."""
        await self.ok(RegisterDelegate(delegate_id=delegate_id, name=name, gender="男", ethnicity="傣族", level="city",
                                       constituency=home.township, home=home, term_start=date(2022, 1, 10), **kwargs))

    async def group(self, group_id: str, where: Location, *members: str) -> None:
        """Form a 2026 group at `where` with these members."""
        await self.ok(FormGroup(group_id=group_id, year=2026, name=f"{where.township}代表小组", kind="township",
                                township=where.township, location=where))
        for m in members:
            await self.ok(AddGroupMember(group_id=group_id, delegate_id=m))


@pytest.fixture
async def service(settings):
    rt = build(settings)
    await rt.start()
    yield rt
    await rt.stop()


@pytest.fixture
def office(service, nc) -> Office:
    return Office(RpcClient(nc))


@pytest.fixture
def feed(service, nc) -> ProjectsFeed:
    return ProjectsFeed(nc)


async def registry(office: Office) -> None:
    await office.ok(RegisterCommittee(committee_id="nww", name="农业农村工作委员会", categories=["农业农村"]))
    await office.ok(RegisterCommittee(committee_id="jkww", name="教科文卫工作委员会", categories=["教育"]))
    await office.ok(RegisterLeader(leader_id="fzr-1", name="李文明", title="副主任", committee_ids=["nww"]))
    await office.ok(RegisterLeader(leader_id="fzr-2", name="张丽萍", title="副主任", committee_ids=["jkww"]))


async def test_supervision_assigned_from_the_suggestion_with_contact_duty(office, feed):
    await feed.open_year()
    project = await feed.vote("02", GASA)
    await registry(office)
    await office.delegate("d1", "岩温", Location(township="嘎洒镇", lat=21.96, lon=100.76))
    await office.delegate("d2", "岩罕", Location(township="嘎洒镇", lat=21.99, lon=100.78))
    await office.delegate("d3", "玉香", Location(township="勐龙镇", lat=21.61, lon=100.63))
    await office.group("gasa-2026", GASA, "d1", "d2")
    await office.group("menglong-2026", MENGLONG, "d3")
    await office.ok(AppointGroupLeader(group_id="gasa-2026", delegate_id="d2"))

    s = await office.suggest(project)
    assert s["year_open"] is True and s["assigned"] is None
    assert [g["group_id"] for g in s["groups"]] == ["gasa-2026", "menglong-2026"]
    assert s["groups"][0]["same_township"] is True and s["groups"][0]["distance_km"] == 0.0
    assert [d["delegate_id"] for d in s["delegates"]] == ["d1", "d2", "d3"]
    assert "嘎洒镇" in s["delegates"][0]["reason"] and s["delegates"][2]["distance_km"] > 30
    assert (s["committees"][0]["committee_id"], s["leaders"][0]["leader_id"]) == ("nww", "fzr-1")

    assign = AssignSupervision(project_id=project, leader_id="fzr-1", committee_id="nww", group_id="gasa-2026")
    assert (await office.ok(assign))["changed"] is True
    assert (await office.ok(assign))["changed"] is False, "the same assignment again records nothing"
    assert (await office.suggest(project))["assigned"] == {"leader_id": "fzr-1", "committee_id": "nww",
                                                           "group_id": "gasa-2026"}

    await office.ok(AssignContactDuty(project_id=project, delegate_ids=["d1"]))
    outsider = await office.send(AssignContactDuty(project_id=project, delegate_ids=["d3"]))
    assert outsider["error"]["code"] == "validation"
    assert outsider["error"]["details"][0]["field"] == "delegate_ids.0"
    await office.ok(AssignContactDuty(project_id=project, delegate_ids=["d3"], override_reason="家住项目旁的村"))
    again = await office.send(AssignContactDuty(project_id=project, delegate_ids=["d1"]))
    assert again["error"]["code"] == "conflict"
    await office.ok(ReleaseContactDuty(project_id=project, delegate_id="d3", reason="工作调动"))

    change = assign.model_copy(update={"group_id": "menglong-2026"})
    no_reason = await office.send(change)
    assert no_reason["error"]["code"] == "validation" and no_reason["error"]["details"][0]["field"] == "reason"
    await office.ok(change.model_copy(update={"reason": "嘎洒镇小组已联系两个项目"}))


async def test_rules_are_enforced_over_nats(office, feed):
    await registry(office)
    await office.delegate("d1", "岩温", Location(township="嘎洒镇"))
    await office.delegate("d2", "岩罕", Location(township="嘎洒镇"))
    await office.group("gasa-2026", GASA, "d1")
    await office.group("menglong-2026", MENGLONG)

    # One group per delegate per year.
    second = await office.send(AddGroupMember(group_id="menglong-2026", delegate_id="d1"))
    assert second["error"]["code"] == "conflict" and "gasa-2026" in second["error"]["message"]
    # Only active delegates.
    await office.ok(EndDelegateTerm(delegate_id="d2", ended_on=date(2026, 3, 1), reason="调离本市"))
    ended = await office.send(AddGroupMember(group_id="gasa-2026", delegate_id="d2"))
    assert ended["error"]["code"] == "conflict"
    changed = await office.send(ChangeDelegateDetails(delegate_id="d2", name="岩罕", gender="男", ethnicity="傣族",
                                                      level="city", constituency="嘎洒镇"))
    assert changed["error"]["code"] == "conflict"
    # Unknown project, then a project of a year that is not open, then a closed year.
    assign = AssignSupervision(project_id="project-2026-05", leader_id="fzr-1", committee_id="nww",
                               group_id="gasa-2026")
    assert (await office.send(assign))["error"]["code"] == "not_found"
    await feed.vote("05", GASA)
    await office.suggest("project-2026-05")
    assert (await office.send(assign))["error"]["code"] == "conflict", "the year is not open"
    await feed.open_year()
    await feed.publish(year_stream_id(2026), YearClosed(year=2026))

    async def closed() -> bool:
        # Until the copy has the YearClosed event too, the year is open and the assignment may pass.
        error = (await office.send(assign)).get("error") or {}
        return error.get("code") == "conflict" and "已关闭" in error.get("message", "")
    await eventually(closed)
    late = await office.send(AddGroupMember(group_id="menglong-2026", delegate_id="d1"))
    assert "已关闭" in late["error"]["message"]
    # Field problems are listed together.
    bad = await office.send(RegisterDelegate(delegate_id="d9", name="某", gender="女", ethnicity="火星族",
                                             level="city", constituency="嘎洒镇", term_start=date(2099, 1, 1)))
    assert {d["field"] for d in bad["error"]["details"]} == {"ethnicity", "term_start"}


async def test_concurrent_joins_keep_one_group_per_year(office, service):
    await office.delegate("d1", "岩温", Location(township="嘎洒镇"))
    for i in range(6):
        await office.group(f"g{i}-2026", GASA)
    replies = await asyncio.gather(*(office.send(AddGroupMember(group_id=f"g{i}-2026", delegate_id="d1"))
                                     for i in range(6)))
    assert sum(r["ok"] for r in replies) == 1
    assert {r["error"]["code"] for r in replies if not r["ok"]} == {"conflict"}
    joined = await service.pool.fetchval("SELECT count(*) FROM events WHERE type = 'GroupMemberJoined'")
    assert joined == 1, "a refused join leaves no event behind"
