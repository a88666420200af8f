"""Demo data of the projects service: Jinghong 2026, from the congress session to late November.

The year is opened from the session (17–20 January), the departments are registered, the ten
voted projects get their plans, and the departments report progress monthly from February to
November over HUIMIN_INGEST, exactly as they do in production. Most projects are on time (three
are completed, two of them accepted), 06 (基诺山 road) is slow, 04 (勐罕 sewers) is obstructed.
Loading again changes nothing: what exists is left as it is, resent messages are duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from shared.department_client import send_messages
from shared.errors import Conflict, HuiminError
from shared.rpc import RpcClient
from shared.subjects import command_subject, query_subject
from shared.timeutil import local_date

ORDER = 10  # loaded first: every other service refers to projects
YEAR = 2026
SESSION_START, VOTED_ON = date(2026, 1, 17), date(2026, 1, 20)
# The year-end satisfaction evaluation (满意度测评) window, set when the year opens.
EVALUATION = (date(2026, 11, 16), date(2026, 12, 18))
# As-of days of the monthly reports, February to November (the latest a few days ago).
REPORT_DAYS = [date(2026, m, 28 if m == 2 else 30 if m in (4, 6, 9) else 31) for m in range(2, 11)]
REPORT_DAYS.append(date(2026, 11, 25))

DEPARTMENTS = [
    ("jhzjj", "景洪市住房和城乡建设局", "市住建局"), ("jhslj", "景洪市水务局", "市水务局"),
    ("jhjyj", "景洪市教育体育局", "市教体局"), ("jhsthjj", "西双版纳州生态环境局景洪分局", "景洪生态环境分局"),
    ("jhwjj", "景洪市卫生健康局", "市卫健局"), ("jhjtj", "景洪市交通运输局", "市交通运输局"),
    ("jhswj", "景洪市工业商务和信息化局", "市工商信局"), ("jhmzj", "景洪市民政局", "市民政局"),
    ("jhnyj", "景洪市农业农村局", "市农业农村局"), ("jhcgj", "景洪市城市管理综合执法局", "市城管局"),
    ("jhczj", "景洪市财政局", "市财政局"), ("jhfgj", "景洪市发展和改革局", "市发改局"),
    ("jhgaj", "景洪市公安局", "市公安局"), ("jhzrzyj", "景洪市自然资源局", "市自然资源局"),
    ("jhyjh", "景洪市允景洪街道办事处", "允景洪街道"), ("jhgsz", "景洪市嘎洒镇人民政府", "嘎洒镇政府"),
    ("jhmlz", "景洪市勐龙镇人民政府", "勐龙镇政府"), ("jhmhz", "景洪市勐罕镇人民政府", "勐罕镇政府"),
    ("jhjhx", "景洪市景哈哈尼族乡人民政府", "景哈乡政府"), ("jhjnsx", "景洪市基诺山基诺族乡人民政府", "基诺山乡政府"),
    ("jhmyz", "景洪市勐养镇人民政府", "勐养镇政府"), ("jhpwz", "景洪市普文镇人民政府", "普文镇政府"),
    ("jhddgx", "景洪市大渡岗乡人民政府", "大渡岗乡政府"),
]


@dataclass(frozen=True)
class DemoProject:
    """One voted project and how its year went."""

    code: str
    title: str
    category: str
    lead: str
    co_units: list[str]
    places: list[tuple[str, str, float, float]]  # township, label, lat, lon (approximate)
    budget_wan: float
    votes: tuple[int, int, int]
    description: str
    milestones: list[tuple[str, date, int]]
    plan_on: date
    percents: list[float]  # one per report day from February, while the project runs
    problems: dict[int, str] = field(default_factory=dict)  # month -> problems met
    reporters: dict[int, str] = field(default_factory=dict)  # month -> co-unit that reported instead


def d(month: int, day: int) -> date:
    """A day of the demo year."""
    return date(YEAR, month, day)


DEMO_PROJECTS = [
    DemoProject("01", "允景洪街道老旧小区改造提升", "城乡建设", "jhzjj", ["jhczj", "jhyjh"],
                [("允景洪街道", "曼听社区", 22.0090, 100.7930)], 3200, (268, 4, 6),
                "改造2000年前建成的老旧小区12个、1860户：管网更新、加装电梯、停车和绿化。",
                [("方案设计", d(3, 31), 15), ("施工招标", d(5, 31), 15), ("主体施工", d(11, 30), 60), ("竣工验收", d(12, 20), 10)],
                d(2, 12), [3, 10, 18, 32, 45, 55, 66, 76, 84, 90], {6: "雨季部分楼栋外墙施工暂停"}),
    DemoProject("02", "嘎洒镇农村饮水安全巩固提升", "农业农村", "jhslj", ["jhgsz", "jhczj"],
                [("嘎洒镇", "曼达村委会", 21.9560, 100.7380)], 1850, (271, 2, 5),
                "新建水源地保护设施2处、改造输配水管网46公里，惠及14个自然村。",
                [("水源工程", d(4, 30), 30), ("管网铺设", d(8, 31), 50), ("通水验收", d(10, 31), 20)],
                d(2, 10), [5, 15, 35, 50, 55, 58, 70, 85, 100], {6: "强降雨冲毁部分管沟", 7: "雨季施工受阻，抢修中"}),
    DemoProject("03", "勐龙镇中心小学教学楼新建", "教育", "jhjyj", ["jhzjj", "jhmlz"],
                [("勐龙镇", "勐龙镇中心小学", 21.5870, 100.6670)], 2600, (265, 5, 8),
                "新建四层教学楼一栋（24个教室），解决大班额问题。",
                [("施工许可", d(3, 31), 10), ("主体结构封顶", d(8, 31), 50), ("装修及设备", d(11, 30), 30), ("交付使用", d(12, 25), 10)],
                d(2, 16), [2, 8, 18, 30, 42, 55, 64, 72, 80, 88]),
    DemoProject("04", "勐罕镇傣族园片区污水管网建设", "生态环境", "jhsthjj", ["jhzjj", "jhmhz"],
                [("勐罕镇", "曼将村（傣族园片区）", 21.8530, 100.9210)], 4100, (259, 9, 10),
                "新建污水主管网18公里、提升泵站2座，傣族园五个村寨污水接入处理厂。",
                [("设计审批", d(3, 31), 10), ("管网一期", d(7, 31), 40), ("管网二期", d(10, 31), 35), ("泵站调试", d(12, 15), 15)],
                d(2, 18), [4, 10, 22, 30, 33, 35, 35, 36, 36, 38],
                {6: "管线需穿越村集体土地，部分村民对补偿有异议，阻挠施工", 7: "阻工持续，二期无法进场",
                 8: "镇政府组织协调两次，未达成一致", 9: "协调中", 10: "仍在协调补偿方案", 11: "待市政府专题会研究"},
                {9: "jhmhz"}),
    DemoProject("05", "景哈哈尼族乡卫生院能力提升", "医疗卫生", "jhwjj", ["jhjhx"],
                [("景哈哈尼族乡", "景哈乡卫生院", 21.7900, 100.7400)], 980, (270, 3, 5),
                "改造门诊和住院用房1200平方米，配置DR、彩超等设备，开通远程会诊。",
                [("用房改造", d(6, 30), 50), ("设备采购安装", d(8, 31), 35), ("人员培训及启用", d(9, 30), 15)],
                d(2, 9), [5, 15, 30, 45, 60, 75, 90, 100]),
    DemoProject("06", "基诺山基诺族乡通村公路提质改造", "交通", "jhjtj", ["jhjnsx", "jhczj"],
                [("基诺山基诺族乡", "巴卡村委会", 22.0450, 101.0180)], 5600, (262, 7, 9),
                "23公里通村公路加宽硬化、增设安全防护设施，方便茶农运输。",
                [("路基工程", d(5, 31), 40), ("路面工程", d(9, 30), 40), ("安全设施", d(11, 15), 15), ("交工验收", d(11, 30), 5)],
                d(2, 17), [2, 5, 8, 12, 15, 20, 17, 20, 25, 28],
                {5: "施工队伍人手不足", 6: "雨季塌方频发", 7: "塌方路段清理中", 8: "7月将进场材料计入完成量，本月更正",
                 9: "征用茶园补偿未兑现", 10: "进度严重滞后", 11: "进度严重滞后，已申请调整工期"}),
    DemoProject("07", "勐养镇农贸市场改造", "商贸", "jhswj", ["jhmyz"],
                [("勐养镇", "勐养农贸市场", 22.1700, 100.8700)], 1500, (255, 11, 12),
                "改造市场棚顶、排水和摊位，新建农残检测室和公厕。",
                [("过渡安置", d(3, 31), 10), ("主体改造", d(9, 30), 60), ("配套设施", d(11, 30), 20), ("开业运营", d(12, 20), 10)],
                d(2, 19), [2, 10, 25, 40, 52, 63, 72, 80, 88, 94]),
    DemoProject("08", "普文镇敬老院适老化改造", "民政", "jhmzj", ["jhpwz"],
                [("普文镇", "普文镇敬老院", 22.4900, 101.0600)], 620, (274, 1, 3),
                "无障碍通道、适老化卫浴、呼叫系统和康复室改造，床位增至80张。",
                [("设计", d(3, 15), 10), ("改造施工", d(7, 31), 70), ("验收入住", d(8, 31), 20)],
                d(2, 11), [5, 20, 45, 65, 80, 92, 100]),
    DemoProject("09", "大渡岗乡茶产业冷链仓储建设", "产业发展", "jhnyj", ["jhddgx", "jhfgj"],
                [("大渡岗乡", "大渡岗乡茶叶初制所", 22.3470, 100.9950)], 1300, (251, 13, 14),
                "建设2000吨茶叶冷链仓储中心和产地初加工车间，带动茶农增收。",
                [("用地及立项", d(4, 30), 20), ("主体建设", d(9, 30), 50), ("冷链设备", d(11, 30), 25), ("试运行", d(12, 20), 5)],
                d(2, 26), [0, 5, 15, 28, 40, 52, 60, 68, 76, 84]),
    DemoProject("10", "城区智慧停车与公共充电设施建设", "城市管理", "jhcgj", ["jhgaj", "jhfgj"],
                [("允景洪街道", "告庄西双景片区", 21.9980, 100.7950), ("嘎洒镇", "机场路", 21.9720, 100.7640)], 2400, (248, 15, 15),
                "新增智慧停车泊位3000个、公共充电桩400个，接入全市停车诱导平台。",
                [("选址规划", d(4, 30), 15), ("泊位建设", d(9, 30), 45), ("充电桩安装", d(11, 30), 30), ("平台联网", d(12, 15), 10)],
                d(2, 13), [2, 8, 12, 18, 30, 42, 53, 62, 70, 78], {5: "机场路点位与道路改造冲突，重新选址"}),
]

# (code, title, category, lead unit, for, against, abstain): the shape other demo modules read.
PROJECTS = [(p.code, p.title, p.category, p.lead, *p.votes) for p in DEMO_PROJECTS]

# Project 10's plan was revised after the site change.
REVISION = ("10", d(5, 15), "机场路点位与道路改造工程冲突，重新选址，泊位建设顺延", [
    ("选址规划", d(5, 31), 15), ("泊位建设", d(10, 31), 45), ("充电桩安装", d(11, 30), 30), ("平台联网", d(12, 15), 10)])
CORRECTION_REASON = "7月将进场材料计入完成量，按实际完成工程量更正"
# (code, kind, description, reported_on, source, (resolved_on, resolution) or None)
OBSTACLES = [
    ("02", "interference", "6月强降雨冲毁曼达村段管沟，施工中断", d(6, 18), "jhslj", (d(8, 5), "雨停后抢修完成，恢复施工")),
    ("04", "resistance", "管网线路穿越曼将村集体土地，部分村民对补偿有异议，阻挠二期施工", d(6, 12), "jhsthjj", None),
    ("06", "slow_progress", "雨季塌方频发、施工力量不足，累计完成远低于计划", d(8, 10), "代表小组视察发现", None),
]
# code -> (completed_on, summary, acceptance (accepted_on, accepted_by, conclusion) or None)
COMPLETIONS = {
    "08": (d(8, 31), "改造完成，床位增至80张", (d(9, 25), "市民政局会同市住建局", "工程质量合格，同意交付使用")),
    "05": (d(9, 30), "用房改造和设备安装完成，远程会诊开通", (d(10, 20), "市卫健局会同市财政局", "合格")),
    "02": (d(10, 31), "管网全部通水", None),
}


def _milestones(items: list[tuple[str, date, int]]) -> list[dict[str, Any]]:
    return [{"name": n, "due": due.isoformat(), "weight": w} for n, due, w in items]


def _done(items: list[tuple[str, date, int]], percent: float) -> list[str]:
    """Milestones finished at a percent: those whose cumulative weight it has reached."""
    done, total = [], 0
    for name, _, weight in items:
        total += weight
        if percent >= total:
            done.append(name)
    return done


def progress_messages(p: DemoProject) -> list[tuple[str, dict[str, Any]]]:
    """The project's monthly reports as (department, message) the way its departments send them."""
    messages, previous = [], 0.0
    for day, percent in zip(REPORT_DAYS, p.percents, strict=False):
        plan = REVISION[3] if p.code == REVISION[0] and day >= REVISION[1] else p.milestones
        done = _done(plan, percent)
        stage = next((n for n, _, _ in plan if n not in done), None)
        dept = p.reporters.get(day.month, p.lead)
        correction = percent < previous
        messages.append((dept, {
            "message_id": f"{dept}-{YEAR}-{p.code}-{day.isoformat()}", "year": YEAR, "code": p.code,
            "as_of": day.isoformat(), "percent": percent, "milestones_completed": done,
            "narrative": f"截至{day.month}月{day.day}日累计完成{percent:g}%" + (f"，{stage}推进中" if stage else "，全部完工"),
            "problems": p.problems.get(day.month, ""), "funds_spent_wan": round(p.budget_wan * percent / 100 * 0.9, 1),
            "correction": correction, "correction_reason": CORRECTION_REASON if correction else "",
        }))
        previous = percent
    return messages


async def _send(client: RpcClient, name: str, payload: dict[str, Any], counts: dict[str, int]) -> None:
    try:
        await client.call(command_subject("projects", name), payload, actor="demo-loader")
        counts["created"] += 1
    except Conflict:
        counts["existing"] += 1
    except HuiminError as exc:  # a revision already made is "no change"
        if not (isinstance(exc.details, list) and exc.details and exc.details[0].get("code") == "no_change"):
            raise
        counts["existing"] += 1


async def _already_reported(client: RpcClient, code: str) -> str:
    """The latest as-of day the projection knows for a project ('' if none, or if it cannot tell yet)."""
    reply = await client.request(query_subject("projects", "get"), {"project_id": f"project-{YEAR}-{code}"})
    return str(reply["project"]["last_report_as_of"] or "") if reply.get("ok") else ""


def _register(p: DemoProject) -> dict[str, Any]:
    return {"year": YEAR, "code": p.code, "title": p.title, "category": p.category, "lead_unit": p.lead,
            "co_units": p.co_units, "description": p.description,
            "townships": list(dict.fromkeys(t for t, _, _, _ in p.places)),
            "locations": [{"township": t, "label": label, "lat": lat, "lon": lon} for t, label, lat, lon in p.places],
            "budget_wan": p.budget_wan, "votes_for": p.votes[0], "votes_against": p.votes[1],
            "votes_abstain": p.votes[2], "voted_on": VOTED_ON.isoformat()}


async def load(client: RpcClient) -> dict[str, int]:
    """Send the demo year; what is already there is left as it is (safe to run on every start)."""
    counts = {"created": 0, "existing": 0}
    await _send(client, "open_year", {"year": YEAR, "session_start": SESSION_START.isoformat(),
                                      "session_end": VOTED_ON.isoformat(),
                                      "evaluation": {"start": EVALUATION[0].isoformat(),
                                                     "end": EVALUATION[1].isoformat()}}, counts)
    for code, name, short in DEPARTMENTS:
        await _send(client, "register_department", {"code": code, "full_name": name, "short_name": short}, counts)
    for p in DEMO_PROJECTS:
        await _send(client, "register_voted_project", _register(p), counts)
        await _send(client, "submit_plan", {"year": YEAR, "code": p.code, "milestones": _milestones(p.milestones),
                                            "target_completion": max(m[1] for m in p.milestones).isoformat(),
                                            "submitted_on": p.plan_on.isoformat()}, counts)
    messages, today = [], local_date(datetime.now(UTC)).isoformat()  # reports are never dated ahead
    for p in DEMO_PROJECTS:
        known = await _already_reported(client, p.code)
        messages += [(dept, "progress", m) for dept, m in progress_messages(p) if known < m["as_of"] <= today]
    # Reports and the revision of project 10 go in the order they happened.
    code, revised_on, reason, milestones = REVISION
    results = await send_messages(client.nc, [m for m in messages if m[2]["as_of"] < revised_on.isoformat()], 60)
    await _send(client, "revise_plan", {"year": YEAR, "code": code, "milestones": _milestones(milestones),
                                        "target_completion": max(m[1] for m in milestones).isoformat(),
                                        "revised_on": revised_on.isoformat(), "reason": reason}, counts)
    results += await send_messages(client.nc, [m for m in messages if m[2]["as_of"] >= revised_on.isoformat()], 60)
    for status in ("accepted", "duplicate", "rejected"):
        counts[f"reports_{status}"] = sum(1 for r in results if r and r["status"] == status)
    counts["reports_pending"] = sum(1 for r in results if r is None)
    for code, kind, description, reported_on, source, resolved in OBSTACLES:
        await _send(client, "report_obstacle", {"year": YEAR, "code": code, "kind": kind, "description": description,
                                                "reported_on": reported_on.isoformat(), "source": source}, counts)
        if resolved:
            await _send(client, "resolve_obstacle", {"year": YEAR, "code": code, "obstacle_id": "o1",
                                                     "resolved_on": resolved[0].isoformat(), "resolution": resolved[1]},
                        counts)
    for code, (completed_on, summary, acceptance) in COMPLETIONS.items():
        await _send(client, "complete_project", {"year": YEAR, "code": code, "completed_on": completed_on.isoformat(),
                                                 "summary": summary}, counts)
        if acceptance:
            await _send(client, "accept_project", {"year": YEAR, "code": code, "accepted_on": acceptance[0].isoformat(),
                                                   "accepted_by": acceptance[1], "conclusion": acceptance[2]}, counts)
    return counts
