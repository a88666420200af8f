"""The city board at province scale: 1,000 projects and 100,000 delegates answer in pages under NATS's limit."""

from __future__ import annotations

import pytest

from services.projection.supervision_query import city_board, get_supervision
from shared.contracts.projection import CityBoard, GetSupervision
from shared.rpc import encode
from tests.integration.test_view_supervision import year_history
from tests.integration.views import apply, views  # noqa: F401 (fixture)

PROJECTS, DELEGATES = 1000, 100_000
NATS_MAX_PAYLOAD = 1024 * 1024  # nats-server's default max_payload

# Read-model rows written directly (the appliers are tested elsewhere): cheap enough for a test of seconds.
BULK = f"""
INSERT INTO sv_projects (project_id, year, code, title, category, lead_unit, co_units, townships, lifecycle, percent)
SELECT 'bulk-' || lpad(i::text, 4, '0'), 2026, 'B' || lpad(i::text, 4, '0'),
       '批量惠民实事项目第' || i || '项' || repeat('（很长的项目名称）', 8), '类别' || (i % 7), 'dept' || (i % 23),
       ARRAY['dept' || ((i + 1) % 23)], ARRAY['乡镇' || (i % 11), '街道' || (i % 5)],
       CASE i % 10 WHEN 0 THEN 'cancelled' WHEN 1 THEN 'completed' ELSE 'active' END, (i % 101)::float
FROM generate_series(1, {PROJECTS}) i;
INSERT INTO sv_names (id, kind, name) SELECT 'bulk-d' || i, 'delegate', '代表' || i FROM generate_series(1, {DELEGATES}) i;
INSERT INTO sv_evaluation (project_id, delegate_id, rating)
SELECT 'bulk-' || lpad((i % {PROJECTS} + 1)::text, 4, '0'), 'bulk-d' || i,
       (ARRAY['satisfied', 'basically_satisfied', 'unsatisfied'])[i % 3 + 1]
FROM generate_series(1, {DELEGATES}) i;
INSERT INTO sv_votes (project_id, rating, n)
SELECT project_id, rating, count(*) FROM sv_evaluation WHERE project_id LIKE 'bulk-%' GROUP BY 1, 2;
INSERT INTO sv_contact_duty (project_id, delegate_id)
SELECT 'bulk-' || lpad((i % {PROJECTS} + 1)::text, 4, '0'), 'bulk-d' || i FROM generate_series(1, {DELEGATES}) i;
INSERT INTO sv_feedback (feedback_id, project_id, year, status)
SELECT 'bulk-f' || i, 'bulk-' || lpad((i % {PROJECTS} + 1)::text, 4, '0'), 2026, 'submitted'
FROM generate_series(1, 5 * {PROJECTS}) i;
"""


@pytest.fixture
async def province(views):
    await apply(views, year_history())  # the year's calendar and two projects through the appliers
    await views.pool.execute(BULK)  # the pool's connections are on the live schema
    return views


async def ask(runner, **params):
    async with runner.pool.acquire() as conn:
        return await city_board(conn, CityBoard(year=2026, **params))


async def test_city_board_at_province_scale_fits_the_payload_limit_with_exact_totals(province):
    board = await ask(province)
    assert len(encode({"ok": True, **board})) < NATS_MAX_PAYLOAD
    total = PROJECTS + 2
    assert board["total"] == board["matched"] == total and len(board["items"]) == 100 == board["limit"]
    assert sum(board["counts"].values()) == total and board["counts"]["grey"] == PROJECTS // 10
    summary = board["summary"]
    assert summary["status"] == board["counts"]
    assert sum(summary["lead_unit"].values()) == total and sum(summary["category"].values()) == total
    assert sum(summary["progress"].values()) == total and summary["progress"]["100"] == PROJECTS // 101
    assert summary["township"]["乡镇0"] == PROJECTS // 11 and summary["township"]["街道0"] == PROJECTS // 5
    first = next(i for i in board["items"] if i["project_id"] == "bulk-0001")
    assert first["feedback"]["open"] == 5 and first["lifecycle"] == "completed" and first["status"] == "green"
    assert "contact_delegates" not in first and "evaluation" not in first  # no per-delegate lists on the board
    async with province.pool.acquire() as conn:
        view = await get_supervision(conn, GetSupervision(project_id="bulk-0001"))
    assert view["evaluation"]["total"] == DELEGATES // PROJECTS and len(view["assignment"]["contact_delegates"]) == 100

    widest = await ask(province, limit=500)
    assert len(widest["items"]) == 500 and len(encode({"ok": True, **widest})) < NATS_MAX_PAYLOAD


async def test_paging_returns_every_project_exactly_once(province):
    seen, offset, pages = [], 0, 0
    while offset is not None:
        page = await ask(province, limit=300, offset=offset)
        seen += [i["project_id"] for i in page["items"]]
        offset, pages = page["next_offset"], pages + 1
    assert pages == 4 and len(seen) == len(set(seen)) == PROJECTS + 2
    everything = await ask(province, limit=500)
    assert set(seen) >= {i["project_id"] for i in everything["items"]}

    grey = await ask(province, status="grey", limit=40)
    assert grey["matched"] == PROJECTS // 10 and grey["total"] == PROJECTS + 2 and grey["next_offset"] == 40
    assert grey["summary"]["status"] == {"green": 0, "amber": 0, "red": 0, "grey": PROJECTS // 10}
    last = await ask(province, status="grey", limit=40, offset=80)
    assert len(last["items"]) == 20 and last["next_offset"] is None
    past = await ask(province, offset=5000)
    assert past["items"] == [] and past["next_offset"] is None and past["matched"] == PROJECTS + 2
