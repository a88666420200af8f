"""A paged city board: the export holds every project, the board page draws its charts from the summary."""

from __future__ import annotations

import pytest

from services.gateway.users import Role
from tests.integration.gateway_support import stub_services
from tests.integration.test_gateway_pages import login

PROJECTS = [{"project_id": f"project-2026-{i:04d}", "title": f"项目{i}", "status": "green", "percent": 50.0,
             "category": "城乡建设", "lead_unit": "jhzjj"} for i in range(1, 1201)]
SUMMARY = {"status": {"green": 1200, "amber": 0, "red": 0, "grey": 0}, "township": {"嘎洒镇": 1200},
           "lead_unit": {"jhzjj": 1199, "jhjyj": 1}, "category": {"城乡建设": 1200},
           "progress": {"none": 0, "0-25": 0, "25-50": 0, "50-75": 1200, "75-100": 0, "100": 0}}


def paged_board(subject: str, body: dict) -> dict:
    """The projection's paging: `limit` from `offset`, `next_offset` until the last page."""
    limit, offset = body.get("limit", 100), body.get("offset", 0)
    after = offset + limit
    return {"ok": True, "year": 2026, "counts": SUMMARY["status"], "total": len(PROJECTS), "matched": len(PROJECTS),
            "summary": SUMMARY, "items": PROJECTS[offset:after], "limit": limit, "offset": offset,
            "next_offset": after if after < len(PROJECTS) else None}



@pytest.fixture
async def stubs(nc):
    async with stub_services(nc) as s:
        s.replies["huimin.qry.board.city"] = paged_board
        yield s


async def test_the_export_of_a_paged_board_holds_every_project_once(gw, stubs):
    r = await gw.client.get("/api/v1/export/board/city.csv", params={"year": 2026}, headers=gw.as_(Role.OFFICE))
    assert r.status_code == 200
    lines = r.content.decode("utf-8").splitlines()[1:]
    assert len(lines) == len(PROJECTS) == len(set(lines))
    asked = [c["body"] for c in stubs.calls if c["subject"] == "huimin.qry.board.city"]
    assert asked[0] == {"year": 2026} and [b.get("offset") for b in asked] == [None, 100, 600, 1100]
    assert all(b["limit"] == 500 for b in asked[1:]), "further pages at the largest page the board allows"


async def test_the_board_page_charts_the_summary_and_links_the_next_page(gw, stubs):
    await login(gw.client, "office1")
    r = await gw.client.get("/board?year=2026")
    assert r.status_code == 200
    assert stubs.last("huimin.qry.board.city")["body"] == {"year": 2026, "limit": 500}
    assert "项目状态" in r.text and "50-75%" in r.text, "charts of every project, from the summary"
    assert 'value="jhjyj"' in r.text, "filter options from the summary, not only the page's rows"
    assert "摘要" not in r.text, "the summary is drawn as charts, not dumped as a list"
    assert "offset=500" in r.text and "下一页" in r.text
    second = await gw.client.get("/board?year=2026&offset=500")
    assert second.status_code == 200 and stubs.last("huimin.qry.board.city")["body"]["offset"] == 500
