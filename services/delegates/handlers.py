"""Command handlers of the delegates service: short functions named after their commands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from services.delegates import tables
from services.delegates.domain.delegate import delegate_decider
from services.delegates.domain.facts import Facts
from services.delegates.domain.group import group_decider
from services.delegates.domain.registry import registry_decider
from services.delegates.domain.supervision import supervision_decider
from services.delegates.running import LoadFacts, no_facts, plain, reply, retrying, run, run_alone
from shared.contracts.base import EventEnvelope
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
    RemoveGroupMember,
    committee_stream_id,
    delegate_stream_id,
    group_stream_id,
    leader_stream_id,
    supervision_stream_id,
)
from shared.rpc import RequestContext
from shared.service import ServiceRuntime
from shared.subjects import command_subject
from shared.timeutil import start_of_day


def group_facts(group_id: str, delegate_id: str | None = None) -> LoadFacts:
    """Facts of a group's year, and of a delegate named by the command."""
    async def load(conn: asyncpg.Connection) -> Facts:
        group = await tables.group(conn, group_id)
        if group is None:
            return Facts()
        ids = [delegate_id] if delegate_id else []
        return Facts(year=await tables.year(conn, group.year), group=group,
                     delegates=await tables.delegates(conn, ids, lock=True),
                     memberships=await tables.memberships(conn, group.year, ids))
    return load


def project_facts(project_id: str, *, leader_id: str = "", committee_id: str = "", group_id: str = "",
                  delegate_ids: Sequence[str] = ()) -> LoadFacts:
    """Facts of a project's year, and of the leader, committee, group or delegates a command names.

    With a group: its members too, whose contact duties outlast a change of the project's group.
    """
    async def load(conn: asyncpg.Connection) -> Facts:
        project = await tables.project(conn, project_id)
        if project is None:
            return Facts()
        members = await tables.members_of(conn, group_id) if group_id else {}
        return Facts(
            year=await tables.year(conn, project.year), project=project,
            leader_ids=await tables.existing(conn, "leader_facts", "leader_id", [leader_id]),
            committee_ids=await tables.existing(conn, "committee_facts", "committee_id", [committee_id]),
            group=await tables.group(conn, group_id) if group_id else None,
            delegates=await tables.delegates(conn, delegate_ids, lock=True),
            memberships={**members, **await tables.memberships(conn, project.year, delegate_ids)},
        )
    return load


def register(rt: ServiceRuntime) -> None:
    """Attach every command handler of the service to its runtime."""

    def handles(cls: type) -> Any:
        return rt.rpc.handle(command_subject(SERVICE, cls.name), cls)

    async def go(decider: Any, stream_id: str, cmd: Any, ctx: RequestContext, load: LoadFacts = no_facts,
                 **kwargs: Any) -> list[Any]:
        assert rt.store is not None and rt.pool is not None
        return await run_alone(rt.store, rt.pool, decider, stream_id, cmd, ctx, load, **kwargs)

    @handles(RegisterDelegate)
    async def register_delegate(cmd: RegisterDelegate, ctx: RequestContext) -> dict[str, Any]:
        events = await go(plain(delegate_decider), delegate_stream_id(cmd.delegate_id), cmd, ctx,
                          occurred_at=start_of_day(cmd.term_start))
        return reply(events, delegate_id=cmd.delegate_id)

    @handles(ChangeDelegateDetails)
    async def change_delegate_details(cmd: ChangeDelegateDetails, ctx: RequestContext) -> dict[str, Any]:
        events = await go(plain(delegate_decider), delegate_stream_id(cmd.delegate_id), cmd, ctx)
        return reply(events, delegate_id=cmd.delegate_id)

    @handles(EndDelegateTerm)
    async def end_delegate_term(cmd: EndDelegateTerm, ctx: RequestContext) -> dict[str, Any]:
        assert rt.store is not None and rt.pool is not None
        store, when = rt.store, start_of_day(cmd.ended_on)

        async def end_term(conn: asyncpg.Connection) -> list[EventEnvelope]:
            # The row lock first: a join deciding on this delegate now has committed (and its group is
            # left below), or it waits for this transaction and then finds the term ended.
            await tables.lock_delegate(conn, cmd.delegate_id)
            events = await run(store, conn, plain(delegate_decider), delegate_stream_id(cmd.delegate_id), cmd, ctx,
                               occurred_at=when)
            for group_id in await tables.groups_in_open_years(conn, cmd.delegate_id):
                leave = RemoveGroupMember(group_id=group_id, delegate_id=cmd.delegate_id,
                                          reason=f"代表任期结束：{cmd.reason}"[:500])
                events += await run(store, conn, group_decider, group_stream_id(group_id), leave, ctx,
                                    group_facts(group_id), occurred_at=when)
            return events

        events = await retrying(rt.pool, end_term)
        return reply(events, delegate_id=cmd.delegate_id)

    @handles(FormGroup)
    async def form_group(cmd: FormGroup, ctx: RequestContext) -> dict[str, Any]:
        async def load(conn: asyncpg.Connection) -> Facts:
            return Facts(year=await tables.year(conn, cmd.year))
        events = await go(group_decider, group_stream_id(cmd.group_id), cmd, ctx, load)
        return reply(events, group_id=cmd.group_id)

    @handles(AddGroupMember)
    async def add_group_member(cmd: AddGroupMember, ctx: RequestContext) -> dict[str, Any]:
        events = await go(group_decider, group_stream_id(cmd.group_id), cmd, ctx,
                          group_facts(cmd.group_id, cmd.delegate_id))
        return reply(events, group_id=cmd.group_id, delegate_id=cmd.delegate_id)

    @handles(RemoveGroupMember)
    async def remove_group_member(cmd: RemoveGroupMember, ctx: RequestContext) -> dict[str, Any]:
        events = await go(group_decider, group_stream_id(cmd.group_id), cmd, ctx, group_facts(cmd.group_id))
        return reply(events, group_id=cmd.group_id, delegate_id=cmd.delegate_id)

    @handles(AppointGroupLeader)
    async def appoint_group_leader(cmd: AppointGroupLeader, ctx: RequestContext) -> dict[str, Any]:
        events = await go(group_decider, group_stream_id(cmd.group_id), cmd, ctx,
                          group_facts(cmd.group_id, cmd.delegate_id))
        return reply(events, group_id=cmd.group_id, delegate_id=cmd.delegate_id)

    @handles(RegisterCommittee)
    async def register_committee(cmd: RegisterCommittee, ctx: RequestContext) -> dict[str, Any]:
        events = await go(registry_decider, committee_stream_id(cmd.committee_id), cmd, ctx)
        return reply(events, committee_id=cmd.committee_id)

    @handles(RegisterLeader)
    async def register_leader(cmd: RegisterLeader, ctx: RequestContext) -> dict[str, Any]:
        async def load(conn: asyncpg.Connection) -> Facts:
            known = await tables.existing(conn, "committee_facts", "committee_id", cmd.committee_ids)
            return Facts(committee_ids=known)
        events = await go(registry_decider, leader_stream_id(cmd.leader_id), cmd, ctx, load)
        return reply(events, leader_id=cmd.leader_id)

    @handles(AssignSupervision)
    async def assign_supervision(cmd: AssignSupervision, ctx: RequestContext) -> dict[str, Any]:
        events = await go(supervision_decider, supervision_stream_id(cmd.project_id), cmd, ctx, project_facts(
            cmd.project_id, leader_id=cmd.leader_id, committee_id=cmd.committee_id, group_id=cmd.group_id))
        return reply(events, project_id=cmd.project_id)

    @handles(AssignContactDuty)
    async def assign_contact_duty(cmd: AssignContactDuty, ctx: RequestContext) -> dict[str, Any]:
        events = await go(supervision_decider, supervision_stream_id(cmd.project_id), cmd, ctx,
                          project_facts(cmd.project_id, delegate_ids=cmd.delegate_ids))
        return reply(events, project_id=cmd.project_id)

    @handles(ReleaseContactDuty)
    async def release_contact_duty(cmd: ReleaseContactDuty, ctx: RequestContext) -> dict[str, Any]:
        events = await go(supervision_decider, supervision_stream_id(cmd.project_id), cmd, ctx,
                          project_facts(cmd.project_id))
        return reply(events, project_id=cmd.project_id)
