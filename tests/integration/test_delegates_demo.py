"""The demo loader against the running service: every demo project supervised as the suggestion ranks
it, and loading again changes nothing."""

from __future__ import annotations

from shared.contracts.projects import Location
from shared.demo import delegates as demo
from shared.rpc import RpcClient
from tests.integration.test_delegates_service import ProjectsFeed, service  # noqa: F401 (fixture)

# Where the demo projects are (approximately): (code, township, lat, lon, category).
PLACES = [("01", "允景洪街道", 22.012, 100.795, "城乡建设"), ("02", "嘎洒镇", 21.95, 100.77, "农业农村"),
          ("03", "勐龙镇", 21.61, 100.625, "教育"), ("04", "勐罕镇", 21.848, 100.955, "生态环境"),
          ("05", "景哈哈尼族乡", 21.77, 100.71, "医疗卫生"), ("06", "基诺山基诺族乡", 22.05, 101.02, "交通"),
          ("07", "勐养镇", 22.15, 100.87, "商贸"), ("08", "普文镇", 22.51, 101.05, "民政"),
          ("09", "大渡岗乡", 22.30, 101.08, "产业发展"), ("10", "允景洪街道", 22.02, 100.80, "城市管理")]


async def test_demo_assigns_every_project_by_proximity_and_reloads_as_a_no_op(service, nc):  # noqa: F811
    feed = ProjectsFeed(nc)
    await feed.open_year()
    for code, township, lat, lon, category in PLACES:
        await feed.vote(code, Location(township=township, lat=lat, lon=lon), category=category)
    client = RpcClient(nc, timeout=10)
    counts = await demo.load(client)
    assert counts["delegates"] == 300 and counts["groups"] == len(demo.groups())
    assert counts["supervision_assigned"] == len(demo.PROJECT_IDS)
    rows = await service.pool.fetch("SELECT project_id, group_id, committee_id FROM supervision_facts ORDER BY 1")
    by_project = {r["project_id"]: (r["group_id"], r["committee_id"]) for r in rows}
    assert by_project["project-2026-02"] == ("gasa-2026", "nww"), "the group of the project's township"
    assert by_project["project-2026-06"] == ("jinuoshan-2026", "chjw")
    assert by_project["project-2026-03"][1] == "jkwwh"
    duties = await service.pool.fetchval("SELECT count(*) FROM events WHERE type = 'ContactDutyAssigned'")
    assert duties == len(demo.PROJECT_IDS)
    before = await service.pool.fetchval("SELECT count(*) FROM events")

    again = await demo.load(client)
    assert again["supervision_existing"] == len(demo.PROJECT_IDS) and "delegates" not in again
    assert await service.pool.fetchval("SELECT count(*) FROM events") == before
