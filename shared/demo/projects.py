"""Demo data of the projects service: Jinghong 2026, the livelihood projects voted at the congress session."""

from __future__ import annotations

from datetime import date

from shared.contracts.projects import RegisterVotedProject
from shared.errors import Conflict
from shared.rpc import RpcClient
from shared.subjects import command_subject

ORDER = 10  # loaded first: every other service refers to projects
YEAR = 2026
VOTED_ON = date(2026, 1, 20)

# (code, title, category, lead unit, for, against, abstain)
PROJECTS = [
    ("01", "允景洪街道老旧小区改造提升", "城乡建设", "jhzjj", 268, 4, 6),
    ("02", "嘎洒镇农村饮水安全巩固提升", "农业农村", "jhslj", 271, 2, 5),
    ("03", "勐龙镇中心小学教学楼新建", "教育", "jhjyj", 265, 5, 8),
    ("04", "勐罕镇傣族园片区污水管网建设", "生态环境", "jhsthjj", 259, 9, 10),
    ("05", "景哈哈尼族乡卫生院能力提升", "医疗卫生", "jhwjj", 270, 3, 5),
    ("06", "基诺山基诺族乡通村公路提质改造", "交通", "jhjtj", 262, 7, 9),
    ("07", "勐养镇农贸市场改造", "商贸", "jhswj", 255, 11, 12),
    ("08", "普文镇敬老院适老化改造", "民政", "jhmzj", 274, 1, 3),
    ("09", "大渡岗乡茶产业冷链仓储建设", "产业发展", "jhnyj", 251, 13, 14),
    ("10", "城区智慧停车与公共充电设施建设", "城市管理", "jhcgj", 248, 15, 15),
]


def voted_projects() -> list[RegisterVotedProject]:
    """The year's voted projects as commands."""
    return [
        RegisterVotedProject(year=YEAR, code=code, title=title, category=category, lead_unit=lead,
                             votes_for=yes, votes_against=no, votes_abstain=abstain, voted_on=VOTED_ON)
        for code, title, category, lead, yes, no, abstain in PROJECTS
    ]


async def load(client: RpcClient) -> dict[str, int]:
    """Send the demo data; what is already there is left as it is (safe to run on every start)."""
    counts = {"created": 0, "existing": 0}
    for cmd in voted_projects():
        try:
            await client.call(command_subject("projects", cmd.name), cmd, actor="demo-loader")
            counts["created"] += 1
        except Conflict:
            counts["existing"] += 1
    return counts
