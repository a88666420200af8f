"""A small world for feedback integration tests: other services' events published to HUIMIN_EVENTS.

The feedback service learns departments, years, projects, delegates, groups and supervision
only from events; these tests publish them as the projects and delegates services would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import nats.errors
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from services.feedback.main import build
from shared.config import Settings
from shared.contracts.base import EventEnvelope
from shared.contracts.delegates import DelegateRegistered, GroupFormed, GroupMemberJoined, SupervisionAssigned
from shared.contracts.projects import DepartmentRegistered, PhaseWindow, ProjectVoted, YearCalendar, YearOpened
from shared.rpc import RpcClient
from shared.service import ServiceRuntime
from shared.streams import ensure_streams
from shared.subjects import EVENTS_STREAM, event_subject, health_subject
from shared.timeutil import local_date
from tests.conftest import eventually
from tests.integration.views import Stream

TODAY = local_date(datetime.now(UTC))


@dataclass
class Clock:
    """A clock the test moves by hand (the deadline sweep's `now`)."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def on(self, day: date) -> None:
        """Noon of that day in Jinghong."""
        self.now = datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)


def world(evaluation: PhaseWindow | None = None, scope: str = "group") -> list[tuple[str, EventEnvelope]]:
    """Departments, the year (evaluation window around today), a project, delegates, a group, its supervision."""
    year = TODAY.year
    calendar = YearCalendar(
        session_start=date(year, 1, 18), session_end=date(year, 1, 22), plan_deadline=date(year, 2, 22),
        mobilisation=PhaseWindow(start=date(year, 2, 1), end=date(year, 3, 31)),
        supervision=PhaseWindow(start=date(year, 4, 1), end=date(year, 11, 30)),
        summary=PhaseWindow(start=date(year, 12, 1), end=date(year, 12, 31)),
        evaluation=evaluation or PhaseWindow(start=TODAY - timedelta(days=5), end=TODAY + timedelta(days=5)),
    )
    out: list[tuple[str, EventEnvelope]] = []
    for code, name, short in (("jhzjj", "景洪市住房和城乡建设局", "市住建局"), ("jhcgj", "景洪市城市管理局", "市城管局"),
                              ("jhjyj", "景洪市教育体育局", "市教体局")):
        out.append(("projects", Stream(f"department-{code}").envelope(DepartmentRegistered(
            code=code, name=name, short_name=short))))
    out.append(("projects", Stream(f"year-{year}").envelope(YearOpened(year=year, calendar=calendar,
                                                                       evaluation_scope=scope))))
    out.append(("projects", Stream(f"project-{year}-01").envelope(ProjectVoted(
        project_id=f"project-{year}-01", year=year, code="01", title="允景洪街道老旧小区改造提升", category="城乡建设",
        lead_unit="jhzjj", co_units=["jhcgj"], votes_for=268, votes_against=4, votes_abstain=6,
        voted_on=date(year, 1, 20)))))
    for delegate_id, name in (("d001", "岩温"), ("d002", "玉香"), ("d003", "李明")):
        out.append(("delegates", Stream(f"delegate-{delegate_id}").envelope(DelegateRegistered(
            delegate_id=delegate_id, name=name, gender="男", ethnicity="傣族", level="city", constituency="允景洪街道",
            term_start=date(2022, 1, 1)))))
    group = Stream("group-yjh")
    out.append(("delegates", group.envelope(GroupFormed(group_id="yjh", year=year, name="允景洪街道代表小组",
                                                        kind="subdistrict", township="允景洪街道"))))
    for delegate_id in ("d001", "d002"):
        out.append(("delegates", group.envelope(GroupMemberJoined(group_id="yjh", year=year,
                                                                  delegate_id=delegate_id))))
    out.append(("delegates", Stream(f"supervision-project-{year}-01").envelope(SupervisionAssigned(
        project_id=f"project-{year}-01", year=year, leader_id="l1", committee_id="c1", group_id="yjh"))))
    return out


async def publish(nc: NatsClient, events: list[tuple[str, EventEnvelope]], msg_id: Callable[[EventEnvelope], str]
                  = lambda e: str(e.event_id)) -> None:
    """Publish envelopes as their services' outbox relays would."""
    js = nc.jetstream()
    for service, env in events:
        await js.publish(event_subject(service, env.stream_id, env.type), env.model_dump_json().encode(),
                         headers={"Nats-Msg-Id": msg_id(env)})


async def published_types(nc: NatsClient, stream_id: str) -> list[str]:
    """Types of one feedback stream's events that reached HUIMIN_EVENTS, in order."""
    sub = await nc.jetstream().pull_subscribe(
        f"huimin.evt.feedback.{stream_id}.>", stream=EVENTS_STREAM,
        config=ConsumerConfig(ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=30))
    types: list[str] = []
    try:
        while True:
            types += [m.subject.rsplit(".", 1)[-1] for m in await sub.fetch(100, timeout=0.2)]
    except (nats.errors.TimeoutError, TimeoutError):  # nats-py 2.16 raises either when nothing is left
        return types
    finally:
        await sub.unsubscribe()


async def copy_counts(client: RpcClient) -> dict[str, Any]:
    """What the running feedback service's copy knows (from its health reply)."""
    reply = await client.request(health_subject("feedback"), {}, timeout=2)
    return reply.get("copy") or {}


async def start_feedback(settings: Settings, nc: NatsClient, clock: Clock | None = None) -> ServiceRuntime:
    """A started feedback service that knows the test world."""
    await ensure_streams(nc.jetstream(), settings)
    rt = build(settings, clock=clock or Clock())
    await rt.start()
    return rt


@pytest.fixture
async def feedback(settings: Settings, nc: NatsClient) -> AsyncIterator[ServiceRuntime]:
    """The feedback service with the test world copied in."""
    rt = await start_feedback(settings, nc)
    await publish(nc, world())
    client = RpcClient(nc)
    await eventually(lambda: _knows_world(client))
    yield rt
    await rt.stop()


async def _knows_world(client: RpcClient) -> bool:
    counts = await copy_counts(client)
    return counts.get("supervision") == 1 and counts.get("group_members") == 2 and counts.get("departments") == 3
