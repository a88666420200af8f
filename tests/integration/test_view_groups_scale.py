"""Delegate groups at province scale: 1,000 groups of 100,000 delegates answer under NATS's payload limit."""

from __future__ import annotations

import pytest

from services.projection.views.delegates import MAX_MEMBER_IDS, list_groups
from shared.contracts.delegates import ListGroups
from shared.errors import ValidationFailed
from shared.rpc import encode
from tests.integration.views import views  # noqa: F401 (fixture)

GROUPS, DELEGATES = 1000, 100_000
NATS_MAX_PAYLOAD = 1024 * 1024  # nats-server's default max_payload

# Read-model rows written directly (the appliers are tested in test_view_group_log_counts.py).
BULK = f"""
INSERT INTO delegate_groups (group_id, year, name, kind, township, location, leader_id, member_count)
SELECT 'g-' || lpad(i::text, 4, '0') || '-2026', 2026, '第' || i || '代表小组' || repeat('（名称）', 4), 'township',
       '乡镇' || (i % 11), jsonb_build_object('lat', 22.0, 'lon', 100.8, 'label', NULL, 'township', '乡镇' || (i % 11)),
       'c01-d' || lpad(i::text, 6, '0'), {DELEGATES // GROUPS}
FROM generate_series(0, {GROUPS - 1}) i;
INSERT INTO delegate_group_members (group_id, year, delegate_id, joined_at)
SELECT 'g-' || lpad((i % {GROUPS})::text, 4, '0') || '-2026', 2026, 'c01-d' || lpad(i::text, 6, '0'), now()
FROM generate_series(0, {DELEGATES - 1}) i;
"""


@pytest.fixture
async def province(views):
    await views.pool.execute(BULK)  # the pool's connections are on the live schema
    return views


async def ask(runner, **params):
    async with runner.pool.acquire() as conn:
        return await list_groups(conn, ListGroups(**params))


def _fits(answer: dict) -> bool:
    return len(encode({"ok": True, **answer})) < NATS_MAX_PAYLOAD


async def test_groups_answer_counts_under_the_payload_limit(province):
    answer = await ask(province, year=2026)
    assert _fits(answer) and len(answer["items"]) == GROUPS and answer["next_offset"] is None
    assert {g["member_count"] for g in answer["items"]} == {DELEGATES // GROUPS}
    assert all("members" not in g for g in answer["items"])

    per_group = MAX_MEMBER_IDS // GROUPS
    widest = await ask(province, year=2026, members=per_group)
    assert _fits(widest) and {len(g["members"]) for g in widest["items"]} == {per_group}
    with pytest.raises(ValidationFailed) as refused:
        await ask(province, year=2026, members=per_group + 1)
    assert refused.value.details[0]["field"] == "members"


async def test_paging_one_group_returns_each_member_once(province):
    seen, offset, pages = [], 0, 0
    while offset is not None:
        page = await ask(province, group_id="g-0007-2026", members=30, offset=offset)
        assert _fits(page) and [g["group_id"] for g in page["items"]] == ["g-0007-2026"]
        seen += page["items"][0]["members"]
        offset, pages = page["next_offset"], pages + 1
    assert pages == 4 and len(seen) == len(set(seen)) == DELEGATES // GROUPS
    assert seen == sorted(seen) and all(int(d[-6:]) % GROUPS == 7 for d in seen)
    assert (await ask(province, group_id="nobody-2026", members=10))["items"] == []


async def test_paging_every_group_returns_each_membership_once(province):
    seen, offset, pages = set(), 0, 0
    while offset is not None:
        page = await ask(province, year=2026, members=20, offset=offset)
        assert _fits(page)
        seen |= {(g["group_id"], m) for g in page["items"] for m in g["members"]}
        offset, pages = page["next_offset"], pages + 1
    assert pages == 5 and len(seen) == DELEGATES
