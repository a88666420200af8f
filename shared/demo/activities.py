"""Demo data of the activities service: the 2026 campaign of Jinghong's delegate groups.

Runs after the projects (10) and delegates (20) loaders: reads groups and supervision from the
delegates view, waits until the activities service's own copy has caught up, then sends commands
with deterministic ids, so loading again changes nothing (existing things answer `conflict`).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.demo import CommandSender, stable_delegates_view
from shared.demo import projects as projects_demo
from shared.demo.projects import PROJECTS, YEAR
from shared.logging import get_logger
from shared.rpc import RpcClient
from shared.subjects import health_subject
from shared.timeutil import CITY_TZ

ORDER = 30
# The slow project the research activity studies, as the projects demo reports it (default 04).
SLOW = next((o[0] for o in getattr(projects_demo, "OBSTACLES", []) if o[1] == "slow_progress"), "04")
OBSTRUCTED = "04"  # 勐罕 sewers: villagers' resistance (its contact logs and a contribution activity)
WAIT_S = 90.0  # how long to wait for the delegates' data and the service's copy
POLL_S = 1.0  # the delegates' data counts as loaded when unchanged for this long
log = get_logger(__name__)

TITLES = {code: title for code, title, *_ in PROJECTS}
PLACES = {
    "01": "允景洪街道曼听社区", "02": "嘎洒镇曼达村委会", "03": "勐龙镇中心小学", "04": "勐罕镇曼将村（傣族园片区）",
    "05": "景哈哈尼族乡卫生院", "06": "基诺山基诺族乡巴卡村委会", "07": "勐养镇农贸市场", "08": "普文镇敬老院",
    "09": "大渡岗乡茶叶初制所", "10": "告庄西双景片区公共停车场",
}
# Inspections: project -> (month, day, findings, opinions as (category, content)).
INSPECTIONS = {
    "01": (6, 10, ["部分小区雨污管网改造尚未开工", "加装电梯意见征集进度不一"],
           [("进度", "加快曼听片区雨污管网改造进度，雨季前完成主管网铺设"),
            ("群众诉求", "施工围挡占用通道，建议为老年人设置临时通行通道并加强夜间照明")]),
    "02": (6, 18, ["个别村民小组管网末端水压不足"],
           [("质量", "定期公开农村饮水水质检测结果，接受群众监督"),
            ("群众诉求", "尽快解决曼达村管网末端水压不足问题")]),
    "03": (6, 25, ["施工场地与教学区隔离不够"],
           [("安全", "施工区与教学区之间加装硬质隔离，上下学时段暂停大型车辆进出"),
            ("进度", "确保秋季学期前主体封顶，同步做好课桌椅等设备采购")]),
    "04": (7, 9, ["管网穿越村寨段协调滞后，完成投资不足计划的一半"],
           [("进度", "成立由镇政府牵头的协调专班，逐户做好沿线村民工作"),
            ("质量", "施工中保护好傣族园片区村寨风貌和古树")]),
    "05": (7, 16, ["DR、彩超等设备采购招标滞后"],
           [("进度", "加快医疗设备采购招标，按期投入使用"),
            ("群众诉求", "同步引进和培训医技人员，确保设备到位后有人会用")]),
    "06": (8, 10, ["雨季塌方频发、施工力量不足，累计完成远低于计划", "部分路段边沟排水不畅"],
           [("质量", "加强路基压实度和路面厚度抽检，确保工程质量"),
            ("安全", "急弯陡坡路段增设防护栏和警示标志")]),
    "07": (8, 20, ["临时摊位安置区遮阳避雨设施不足"],
           [("群众诉求", "改造期间妥善安置临时摊位，减少对商户经营的影响"),
            ("质量", "完善市场排水和垃圾分类收集设施")]),
    "08": (7, 14, ["卫生间扶手和防滑地面改造尚未完成"],
           [("质量", "适老化改造充分听取入住老人意见"), ("安全", "完善消防设施和应急呼叫系统")]),
}
CONTRIBUTIONS = {  # project -> (month, day, title, what was helped, what was resolved)
    "04": (9, 12, "协调沿线村民支持污水管网施工", "代表逐户走访曼将村沿线农户，解释管网建设政策和补偿标准",
           ["12户农户同意管网从房前通过", "施工便道占地问题得到解决"]),
    "06": (7, 22, "化解通村公路占地纠纷", "代表参与巴卡村两个村民小组之间的占地纠纷调解", ["占地纠纷达成调解协议"]),
    "08": (6, 16, "动员社会力量支持敬老院改造", "代表牵线爱心企业捐赠适老化设施", ["落实捐赠轮椅20台、护理床10张"]),
}
LOGS = [  # (month, day, progress, difficulties, public response, demands, help given)
    (5, 14, "施工队伍已进场，正在进行前期准备", "部分群众担心施工影响出行", "群众普遍支持", "希望合理安排施工时间",
     ["policy_explanation"]),
    (8, 11, "主体工程完成约六成", "雨季影响施工进度", "群众关注完工时间", "希望加强施工安全管理", ["mobilisation"]),
    (10, 28, "项目进入收尾阶段，部分设施已投入使用", "", "群众对工程质量总体满意", "希望做好后期管护", []),
]
SPECIAL_LOGS = {OBSTRUCTED: [
    (5, 14, "管网主干段开工", "管网穿越村寨涉及房前屋后，部分村民不同意施工", "村民对补偿标准有疑虑", "希望公开补偿标准",
     ["policy_explanation"]),
    (8, 11, "完成投资约四成，进度滞后", "沿线协调难度大，施工多次停工", "部分村民态度转变", "希望施工后及时恢复路面",
     ["mediation", "policy_explanation"]),
    (10, 28, "主干管网贯通，支管网正在施工", "工期仍滞后约两个月", "群众期待早日通管", "希望雨季前完成路面恢复",
     ["mediation"]),
], "06": [
    (5, 14, "路基工程开工", "施工力量不足，只有一个施工队", "村民盼望早日通车", "希望增加施工力量", []),
    (8, 11, "累计完成不足三成", "雨季塌方频发，多处路段停工", "群众对进度有意见", "希望雨季过后加快施工",
     ["mobilisation"]),
    (10, 28, "塌方路段清理完毕，路面铺筑恢复", "工期滞后约三个月", "群众担心年内不能完工", "希望公开调整后的工期",
     ["policy_explanation"]),
]}
EXCUSES = ["外出学习培训", "身体不适", "单位工作冲突", "出差在外", "家中有事"]


@dataclass
class Plan:
    """One demo activity: what to schedule, whom to invite, and what it produced."""

    activity_id: str
    kind: str
    title: str
    codes: list[str]
    group_ids: list[str]
    starts: datetime
    hours: float
    place: str
    form: str | None = None
    invite: list[str] = field(default_factory=list)  # named delegates; empty: the organising groups
    walk_ins: list[str] = field(default_factory=list)  # came without an invitation
    correct_first_absence: bool = False  # an absence turned into an excused one after the fact
    minutes: str = ""
    findings: list[str] = field(default_factory=list)
    opinions: list[tuple[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # report or contribution


def at(month: int, day: int, hour: int = 9) -> datetime:
    """A time of the demo year in the city's zone."""
    return datetime(YEAR, month, day, hour, tzinfo=CITY_TZ)


def _hash(*parts: str) -> int:
    return int(hashlib.sha256("/".join(parts).encode()).hexdigest(), 16)


def attendance(plan: Plan, invitees: list[str]) -> list[dict[str, Any]]:
    """Deterministic attendance: most present, some absent or excused (inspections have both)."""
    entries = []
    for delegate_id in invitees:
        h = _hash(plan.activity_id, delegate_id) % 100
        status = "absent" if h < 7 else "excused" if h < 17 else "present"
        entries.append({"delegate_id": delegate_id, "status": status})
    if plan.kind == "inspection" and len(entries) >= 4:
        if not any(e["status"] == "absent" for e in entries):
            entries[-1]["status"] = "absent"
        if not any(e["status"] == "excused" for e in entries):
            entries[-2]["status"] = "excused"
    for e in entries:
        if e["status"] == "excused":
            e["excuse_reason"] = EXCUSES[_hash(plan.activity_id, e["delegate_id"], "excuse") % len(EXCUSES)]
    return entries


def plans(groups: list[dict[str, Any]], supervision: dict[str, dict[str, Any]]) -> list[Plan]:
    """Every demo activity of the year, from the groups and the supervision assignments."""
    by_group: dict[str, list[str]] = {}
    groups_by_id = {g["group_id"]: g["members"] for g in groups}
    for code in TITLES:
        if (s := supervision.get(code)) is not None:
            by_group.setdefault(s["group_id"], []).append(code)
    group = {code: supervision[code]["group_id"] for code in TITLES if code in supervision}
    contacts = {code: supervision[code].get("contact_delegates") or [] for code in group}
    out = []
    for i, g in enumerate(sorted(groups, key=lambda g: g["group_id"])):
        # Groups without a project of their own learn about every project of the year.
        codes = by_group.get(g["group_id"]) or sorted(group)
        if not codes:
            continue
        out.append(Plan(f"{YEAR}-mob-{g['group_id']}", "mobilisation", f"{g['name']}联系监督惠民实事动员会", codes,
                        [g["group_id"]], at(2, 24) + timedelta(days=2 * i), 2.5, f"{g['township']}人大代表之家",
                        form="动员会", minutes=f"传达市人大常委会实施意见，学习{len(codes)}个项目的实施计划，明确代表联系分工。"))
    guests = [g["leader_id"] for g in sorted(groups, key=lambda g: g["group_id"]) if g.get("leader_id")]
    for code, kind, month, day in (("01", "voter_visit", 3, 17), ("07", "voter_visit", 3, 19),
                                   ("01", "department_visit", 3, 24)):
        if code in group:
            what = "走访选民宣传惠民实事" if kind == "voter_visit" else "走访市住房和城乡建设局了解实施计划"
            out.append(Plan(f"{YEAR}-{kind.replace('_', '-')}-{code}", kind, f"{what}（{TITLES[code]}）", [code],
                            [group[code]], at(month, day), 3, PLACES[code], invite=contacts[code],
                            minutes=f"{what}，收集群众意见。"))
    for code, (month, day, findings, opinions) in INSPECTIONS.items():
        if code in group:
            # A leader of another group joins the inspection of the obstructed project uninvited.
            walk_ins = [d for d in guests if d not in (groups_by_id.get(group[code]) or [])][:1]
            out.append(Plan(f"{YEAR}-insp-{code}", "inspection", f"视察{TITLES[code]}", [code], [group[code]],
                            at(month, day), 3.5, PLACES[code], minutes="听取牵头单位汇报，实地查看施工现场。",
                            findings=findings, opinions=opinions, walk_ins=walk_ins if code == OBSTRUCTED else [],
                            correct_first_absence=code == "03"))
    if SLOW in group:
        out.append(Plan(f"{YEAR}-research-{SLOW}", "research", f"{TITLES[SLOW]}推进情况专题调研", [SLOW], [group[SLOW]],
                        at(8, 25), 8, PLACES[SLOW], minutes="邀请牵头单位和乡镇政府座谈，代表实地查看进展缓慢的路段。",
                        opinions=[("进度", "增加施工队伍，雨季过后集中力量抢回工期，每月向代表小组通报进展"),
                                  ("安全", "对塌方易发路段先行实施边坡防护，确保群众出行安全")],
                        extra={"report": {
                            "title": f"关于{TITLES[SLOW]}进展缓慢问题的调研报告",
                            "summary": "项目累计完成远低于计划，主要原因是雨季塌方频发、施工力量不足、协调机制不健全。",
                            "recommendations": ["增加施工力量", "分段施工、先易后难", "建立乡村两级协调机制"]}}))
    for code, (month, day, title, helped, resolved) in CONTRIBUTIONS.items():
        if code in group:
            out.append(Plan(f"{YEAR}-contrib-{code}", "contribution", title, [code], [group[code]], at(month, day), 4,
                            PLACES[code], invite=contacts[code], minutes=helped,
                            extra={"contribution": {"helped": helped, "resolved": resolved}}))
    leaders = [g["leader_id"] for g in groups if g.get("leader_id") and g["group_id"] in by_group]
    if by_group and leaders:
        out.append(Plan(f"{YEAR}-summary", "summary", "联系监督惠民实事经验交流会", sorted(group),
                        sorted(by_group)[:20], at(12, 15), 3, "市人大常委会会议室", form="交流会", invite=leaders))
    return out


class Loader(CommandSender):
    """Sends demo commands, counting what was created, what existed and what was refused."""

    def __init__(self, client: RpcClient) -> None:
        super().__init__(client, "activities")

    async def activity(self, plan: Plan) -> None:
        """Schedule, invite, record attendance and outcome of one planned activity."""
        scheduled = await self.send("schedule_activity", {
            "activity_id": plan.activity_id, "year": YEAR, "kind": plan.kind, "form": plan.form, "title": plan.title,
            "project_ids": [f"project-{YEAR}-{c}" for c in plan.codes], "group_ids": plan.group_ids,
            "organiser": "市人大常委会代表工作室", "starts_at": plan.starts.isoformat(),
            "ends_at": (plan.starts + timedelta(hours=plan.hours)).isoformat(), "place": plan.place}, "activities")
        invite = {"delegate_ids": plan.invite} if plan.invite else {"group_ids": plan.group_ids}
        invited = await self.send("invite_delegates", {"activity_id": plan.activity_id, **invite})
        if scheduled is None and not (invited and invited["invited"]):
            return  # loaded before: leave it as it is
        invitees = invited["invited"] if invited else []
        if not invitees or not plan.minutes:
            return
        entries = attendance(plan, invitees) + [
            {"delegate_id": d, "status": "present", "walk_in": True} for d in plan.walk_ins if d not in invitees]
        recorded = await self.send("record_attendance", {"activity_id": plan.activity_id, "entries": entries})
        absent = [e["delegate_id"] for e in entries if e["status"] == "absent"]
        if recorded and plan.correct_first_absence and len(absent) >= 2:  # one absence stays
            await self.send("correct_attendance", {
                "activity_id": plan.activity_id, "delegate_id": absent[0], "status": "excused",
                "excuse_reason": "外出学习培训", "reason": "会后补交经组长批准的请假条"})
        present = [e["delegate_id"] for e in entries if e["status"] == "present"] or invitees[:1]
        opinions = [{"category": category, "content": content, "raised_by": present[i % len(present):][:2]}
                    for i, (category, content) in enumerate(plan.opinions)]
        if await self.send("record_outcome", {"activity_id": plan.activity_id, "minutes": plan.minutes,
                                              "findings": plan.findings, "opinions": opinions, **plan.extra}):
            self.counts["opinions"] += len(opinions)

    async def contact_point(self, code: str, index: int, delegate_ids: list[str]) -> None:
        """A project's contact point and its delegates' contact logs."""
        point = f"{YEAR}-cp-{code}"
        await self.send("establish_contact_point", {
            "contact_point_id": point, "project_id": f"project-{YEAR}-{code}", "place": f"{PLACES[code]}项目联系点",
            "delegate_ids": delegate_ids, "established_on": (at(4, 3) + timedelta(days=2 * index)).date().isoformat()},
            "contact_points")
        for n, (month, day, progress, difficulties, response, demands, help_) in enumerate(
                SPECIAL_LOGS.get(code, LOGS), start=1):
            await self.send("log_contact", {
                "log_id": f"l{n}", "contact_point_id": point, "delegate_id": delegate_ids[n % len(delegate_ids)],
                "contacted_on": at(month, day + index % 3).date().isoformat(), "progress": progress,
                "difficulties": difficulties, "public_response": response, "demands": demands, "help_given": help_},
                "contact_logs")


async def _copy_caught_up(client: RpcClient) -> bool:
    """Wait until the activities service has applied every event in the stream to its copy."""
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while asyncio.get_running_loop().time() < deadline:
        reply = await client.request(health_subject("activities"), {}, timeout=2)
        if reply.get("follower_lag") == 0:
            return True
        await asyncio.sleep(POLL_S / 2)
    return False


async def load(client: RpcClient) -> dict[str, int]:
    """Send the demo activities and contact points; what exists is left as it is."""
    groups = await stable_delegates_view(client, "groups", YEAR, WAIT_S, POLL_S)
    supervision = await stable_delegates_view(client, "supervision", YEAR, WAIT_S, POLL_S)
    if not groups or not supervision or not await _copy_caught_up(client):
        log.warning("demo activities skipped: no groups or supervision of the demo year, or copy not caught up")
        return {"skipped": 1}
    prefix = f"project-{YEAR}-"
    by_code = {s["project_id"].removeprefix(prefix): s for s in supervision if s["project_id"].startswith(prefix)}
    loader = Loader(client)
    for plan in plans(groups, by_code):
        await loader.activity(plan)
    members = {g["group_id"]: g["members"] for g in groups}
    for index, code in enumerate(c for c in TITLES if c in by_code and c not in ("09", "10")):
        s = by_code[code]
        delegates = (s.get("contact_delegates") or members.get(s["group_id"], []))[:3]
        if delegates:
            await loader.contact_point(code, index, delegates)
    return dict(loader.counts)
