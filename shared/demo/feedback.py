"""Demo data of the feedback service: the 2026 opinions of Jinghong's delegates, tracked to their answers.

Sixteen items raised by delegates, groups and relayed from the public, in every state: waiting to
be forwarded, forwarded, acknowledged, answered (one late), closed after a satisfied rating,
reopened after 不满意 (one answered again and closed, one closed unsatisfied after its second
round, one still open), and some overdue as of late November. Departments acknowledge and answer
over HUIMIN_INGEST as in production; a few opinions raised at the activities are forwarded too.
Then the deadline sweep runs and the delegates of each project's supervising group vote in the
year-end evaluation. Ids and message ids are fixed, so loading again changes nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shared.demo import DEMO_ACTOR, CommandSender, stable_delegates_view
from shared.demo.projects import DEMO_PROJECTS, EVALUATION, YEAR
from shared.department_client import send_messages
from shared.errors import HuiminError
from shared.logging import get_logger
from shared.rpc import RpcClient
from shared.subjects import command_subject, health_subject, query_subject
from shared.timeutil import CITY_TZ, local_date

ORDER = 40  # after projects, delegates and activities: it refers to all of them
WAIT_S = 90.0
log = get_logger(__name__)
UNITS = {p.code: (p.lead, p.co_units) for p in DEMO_PROJECTS}


def day(md: str) -> date:
    """A date of the demo year from "MM-DD"."""
    month, dd = md.split("-")
    return date(YEAR, int(month), int(dd))


def moment(mdhm: str) -> str:
    """An instant of the demo year from "MM-DD HH:MM", in the city's zone (ISO 8601)."""
    md, hm = mdhm.split()
    d, (hour, minute) = day(md), hm.split(":")
    return datetime(d.year, d.month, d.day, int(hour), int(minute), tzinfo=CITY_TZ).isoformat()


@dataclass(frozen=True)
class Round:
    """What happened in one round: receipts, the main department's answer, a co-department's part, the rating."""

    receipt: str | None = None  # "MM-DD HH:MM"
    co_receipt: str | None = None
    co_reply: tuple[str, str] | None = None  # (when, content)
    answer: tuple[str, str, str, str, str | None] | None = None  # (when, result, content, planned actions, planned by)
    rating: tuple[str, str, str] | None = None  # (on, rating, comment)


@dataclass(frozen=True)
class Item:
    """One demo feedback item and its story."""

    number: int
    project: str | None  # project code, or None (then `dept` takes it)
    source: str
    category: str
    content: str
    raised: str
    forwarded: str | None = None
    with_co: bool = False  # the project's first co-unit is a co-department
    due: str | None = None  # an explicit due date (else the configured default)
    public_source: str = ""
    dept: str | None = None
    rounds: tuple[Round, ...] = ()

    @property
    def feedback_id(self) -> str:
        """The fixed id of the item."""
        return f"fb-{YEAR}-{self.number:03d}"


ITEMS = [
    Item(1, "01", "delegate", "施工安全", "曼听社区改造工地夜间施工噪音扰民，建议22时后停止高噪音作业", "05-14", "05-16", True,
         rounds=(Round("05-18 09:30", "05-19 10:00", None,
                       ("05-30 16:00", "adopted", "已要求施工单位22时后停止高噪音作业，并公布投诉电话", "", None),
                       ("06-05", "satisfied", "")),)),
    Item(2, "02", "group", "群众诉求", "曼达村管网末端水压不足，用水高峰时段无水", "06-20", "06-22", True,
         rounds=(Round("06-24 09:00", None, ("07-05 15:00", "嘎洒镇已组织村组排查入户管网漏损点"),
                       ("07-10 11:00", "partly_adopted", "已加装增压泵1台，其余片区随二期管网解决", "二期管网十月底前通水", "10-31"),
                       ("07-20", "unsatisfied", "仍有两个村民小组高峰时段无水")),
                 Round("07-22 09:00", None, None, ("08-12 10:00", "adopted", "增设高位水池一座，末端水压已恢复正常", "", None),
                       ("08-25", "satisfied", "")))),
    Item(3, "03", "delegate", "安全", "施工车辆在上下学时段进出学校周边，存在安全隐患", "06-26", "06-28", due="07-13",
         rounds=(Round("06-29 08:30", None, None, ("07-03 17:00", "adopted", "上下学时段禁止施工车辆通行，并安排专人值守", "", None),
                       ("07-10", "basically_satisfied", "")),)),
    Item(4, "04", "public", "群众诉求", "傣族园片区村民反映管网占地补偿标准不透明，希望公开补偿方案", "07-10", "07-12", True,
         public_source="勐罕镇曼将村村民",
         rounds=(Round("07-15 10:00", None, None, ("08-08 15:00", "not_adopted", "补偿标准按州政府文件执行，已在村委会公示", "", None),
                       ("08-20", "unsatisfied", "公示内容不具体，村民仍有疑问")),
                 Round("08-24 09:00", None, None, ("09-25 16:30", "partly_adopted", "逐户公开补偿明细，召开村民说明会两次",
                                                   "配合镇政府继续协调", "12-31"), ("10-08", "unsatisfied", "阻工问题仍未解决")))),
    Item(5, "06", "delegate", "进度", "巴卡村段塌方清理进度缓慢，影响茶农运输", "08-06", "08-08", True,
         rounds=(Round("08-11 09:00", None, None, ("09-20 10:00", "partly_adopted", "已增加机械设备清理塌方，受雨季影响仍需时间",
                                                    "旱季集中力量完成路面工程", "12-31"), None),)),
    Item(6, "06", "group", "进度", "征用茶园的补偿款尚未兑现，建议尽快兑付", "09-12", "09-15", True,
         rounds=(Round("09-17 09:00"),)),
    Item(7, "07", "delegate", "群众诉求", "临时摊位安置区遮阳避雨设施不足，雨天积水", "08-21", "08-24",
         rounds=(Round("08-26 10:00", None, None, ("09-10 15:00", "adopted", "已加装遮阳棚并疏通排水沟", "", None),
                       ("09-18", "unsatisfied", "雨天仍有积水，部分摊位无遮挡")),
                 Round("09-20 09:00"))),
    Item(8, "09", "delegate", "质量", "冷库选址距离茶叶初制所较远，建议优化运输路线", "09-25", "09-28"),
    Item(9, "10", "delegate", "群众诉求", "告庄片区公共充电桩收费标准不明确", "10-20", "10-23", True,
         rounds=(Round("10-26 09:30", None, None, ("11-12 16:00", "adopted", "收费标准已在停车诱导平台和现场公示",
                                                    "十二月中旬前完成全部点位公示", "12-15"), None),)),
    Item(10, "05", "delegate", "群众诉求", "卫生院新设备启用后，建议定期安排州医院专家坐诊", "10-08", "10-10",
         rounds=(Round("10-12 09:00", None, None, ("10-28 11:00", "adopted", "已与州人民医院签订协议，每月两次专家坐诊", "", None),
                       ("11-05", "satisfied", "")),)),
    Item(11, "08", "public", "群众诉求", "入住老人家属希望开放视频探视", "09-02", "09-04", public_source="普文镇敬老院入住老人家属",
         rounds=(Round(None, None, None, ("09-22 10:00", "adopted", "已开通视频探视，每日两个时段", "", None),
                       ("09-30", "satisfied", "")),)),
    Item(12, "01", "delegate", "进度", "加装电梯意见征集进度不一，建议分批推进", "11-02", "11-03", rounds=(Round("11-05 09:00"),)),
    Item(13, "03", "delegate", "质量", "教学楼投入使用前应开展室内空气检测", "11-10", "11-12"),
    Item(14, "10", "group", "进度", "机场路充电桩建设滞后，建议公布建设时间表", "11-24"),
    Item(15, "09", "delegate", "产业发展", "冷链仓储中心建成后建议优先服务本地茶农合作社", "11-26"),
    Item(16, None, "public", "群众诉求", "曼听公园周边夜间照明不足", "11-18", "11-20", public_source="允景洪街道曼听社区居民",
         dept="jhcgj"),
]


def _hash(*parts: str) -> int:
    return int(hashlib.sha256("/".join(parts).encode()).hexdigest(), 16)


class Loader(CommandSender):
    """Sends the demo commands and department messages, counting what was created, existed or was refused."""

    def __init__(self, client: RpcClient, groups: dict[str, list[str]], supervising: dict[str, str]) -> None:
        super().__init__(client, "feedback")
        self.groups, self.supervising = groups, supervising

    async def departments_say(self, messages: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Department messages over HUIMIN_INGEST, counted by their results."""
        for result in await send_messages(self.client.nc, messages):
            status = result["status"] if result else "no_result"
            self.counts[f"department_{status}"] += 1
            if result and result["status"] == "rejected":
                log.warning("demo department message rejected", reasons=result["reasons"])

    def people(self, item: Item) -> tuple[str | None, list[str]]:
        """The group and the delegates who raise an item: members of the group supervising its project."""
        group = self.supervising.get(item.project or "01")
        members = self.groups.get(group or "", [])
        if not members:
            members = sorted({m for ms in self.groups.values() for m in ms})
        pick = _hash(item.feedback_id) % max(1, len(members) - 1)
        return group, members[pick:pick + (2 if item.source == "group" else 1)]

    async def submit_and_forward(self, item: Item) -> None:
        """Record the item and, if it was forwarded, forward it to the project's departments."""
        group, raised_by = self.people(item)
        if not raised_by:
            return
        body: dict[str, Any] = {
            "feedback_id": item.feedback_id, "year": YEAR, "source": item.source, "category": item.category,
            "content": item.content, "raised_by": raised_by, "raised_on": day(item.raised).isoformat(),
            "public_source": item.public_source}
        if item.project:
            body["project_id"] = f"project-{YEAR}-{item.project}"
        if item.source == "group":
            body["group_id"] = group
        await self.send("submit_feedback", body, "items")
        if item.forwarded:
            main, co = (item.dept, []) if item.project is None else UNITS[item.project]
            forward = {"feedback_id": item.feedback_id, "main_department": main, "forwarded_on":
                       day(item.forwarded).isoformat(), "co_departments": co[:1] if item.with_co else []}
            if item.due:
                forward["due_on"] = day(item.due).isoformat()
            await self.send("forward_feedback", forward, "forwarded")

    def round_messages(self, item: Item, number: int) -> list[tuple[str, str, dict[str, Any]]]:
        """The departments' receipts and replies of one round of an item."""
        if len(item.rounds) < number:
            return []
        r, fid = item.rounds[number - 1], item.feedback_id
        main, co = (item.dept or "", []) if item.project is None else UNITS[item.project]
        mid = f"demo-{fid}-r{number}"
        out: list[tuple[str, str, dict[str, Any]]] = []
        if r.receipt:
            out.append((main, "receipt", {"message_id": f"{mid}-receipt", "feedback_id": fid,
                                          "received_at": moment(r.receipt), "handler": "办公室"}))
        if r.co_receipt:
            out.append((co[0], "receipt", {"message_id": f"{mid}-co-receipt", "feedback_id": fid,
                                           "received_at": moment(r.co_receipt)}))
        if r.co_reply:
            out.append((co[0], "reply", {"message_id": f"{mid}-co-reply", "feedback_id": fid, "result": "adopted",
                                         "answered_at": moment(r.co_reply[0]), "content": r.co_reply[1]}))
        if r.answer:
            when, result, content, actions, planned_by = r.answer
            out.append((main, "reply", {"message_id": f"{mid}-reply", "feedback_id": fid, "answered_at": moment(when),
                                        "result": result, "content": content, "planned_actions": actions,
                                        "planned_by": day(planned_by).isoformat() if planned_by else None}))
        return out

    async def rate(self, item: Item, number: int) -> None:
        """The rating of one round by who raised the item."""
        if len(item.rounds) < number or item.rounds[number - 1].rating is None:
            return
        on, rating, comment = item.rounds[number - 1].rating  # type: ignore[misc]
        await self.send("rate_feedback", {"feedback_id": item.feedback_id, "rated_by": self.people(item)[1][0],
                                          "rating": rating, "comment": comment, "rated_on": day(on).isoformat()},
                        f"rated_{rating}")

    async def activity_opinions(self) -> None:
        """Forward the first opinions raised at the activities; their departments acknowledge and answer some."""
        items = await _activity_items(self.client)
        today = local_date(datetime.now(CITY_TZ))
        messages: list[tuple[str, str, dict[str, Any]]] = []
        for n, item in enumerate(items[:6]):
            code = (item.get("project_id") or "").rsplit("-", 1)[-1]
            raised = date.fromisoformat(str(item["raised_on"]))
            if code not in UNITS or raised + timedelta(days=20) >= today:
                continue
            fid, main = item["feedback_id"], UNITS[code][0]
            await self.send("forward_feedback", {"feedback_id": fid, "main_department": main,
                                                 "forwarded_on": (raised + timedelta(days=2)).isoformat()}, "forwarded")
            at = datetime.combine(raised, datetime.min.time(), CITY_TZ)
            if n < 4:
                messages.append((main, "receipt", {"message_id": f"demo-{fid}-r1-receipt", "feedback_id": fid,
                                                   "received_at": (at + timedelta(days=4, hours=9)).isoformat()}))
            if n < 3:
                messages.append((main, "reply", {
                    "message_id": f"demo-{fid}-r1-reply", "feedback_id": fid, "result": "adopted",
                    "answered_at": (at + timedelta(days=15, hours=15)).isoformat(),
                    "content": "已按代表意见督促施工单位整改，并将持续跟踪落实情况"}))
        await self.departments_say(messages)
        for n, item in enumerate(items[:2]):
            raised = date.fromisoformat(str(item["raised_on"]))
            if raised + timedelta(days=20) < today:
                rated_on = (raised + timedelta(days=20)).isoformat()
                await self.send("rate_feedback", {"feedback_id": item["feedback_id"], "rated_by": item["raised_by"][0],
                                                  "rating": "satisfied", "rated_on": rated_on}, "rated_satisfied")

    async def evaluation(self) -> None:
        """Each supervising group's members vote on their project; a few change their vote."""
        today = local_date(datetime.now(CITY_TZ))
        start, end = EVALUATION[0], min(EVALUATION[1], today)  # the window the demo year was opened with
        await _caught_up(self.client)  # the year's evaluation window has reached the service's copy
        voted_before = await _projects_with_votes(self.client)
        for code in sorted(self.supervising):
            project_id = f"project-{YEAR}-{code}"
            weights = {"04": (35, 35), "06": (40, 35)}.get(code, (70, 22))  # 满意, 基本满意 (rest 不满意)
            for delegate_id in self.groups.get(self.supervising[code], []):
                h = _hash(project_id, delegate_id)
                if h % 100 < 12:
                    continue  # did not vote
                share = (h >> 8) % 100
                rating = "satisfied" if share < weights[0] else "basically_satisfied" if share < sum(weights) \
                    else "unsatisfied"
                voted_on = start + timedelta(days=(h >> 16) % max(1, (end - start).days + 1))
                if (h >> 24) % 100 < 6 and project_id not in voted_before and voted_on > start:
                    first = "basically_satisfied" if rating != "basically_satisfied" else "satisfied"
                    await self.vote(project_id, delegate_id, first, start)
                await self.vote(project_id, delegate_id, rating, voted_on)

    async def vote(self, project_id: str, delegate_id: str, rating: str, voted_on: date) -> None:
        """One evaluation vote (a repeated one records nothing; outside the window it is refused)."""
        try:
            reply = await self.client.call(command_subject("feedback", "cast_evaluation_vote"), {
                "project_id": project_id, "delegate_id": delegate_id, "rating": rating,
                "voted_on": voted_on.isoformat()}, actor=DEMO_ACTOR)
        except HuiminError as exc:
            self.counts["votes_refused"] += 1
            if self.counts["votes_refused"] == 1:
                log.warning("demo evaluation vote refused", error=exc.message)
            return
        self.counts["votes_changed" if reply["changed"] else "votes" if reply["event_ids"] else "votes_existing"] += 1


async def _caught_up(client: RpcClient) -> bool:
    """Wait until the feedback service's copy has applied every event published so far."""
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while asyncio.get_running_loop().time() < deadline:
        if (await client.request(health_subject("feedback"), {}, timeout=2)).get("follower_lag") == 0:
            return True
        await asyncio.sleep(0.5)
    return False


async def _activity_items(client: RpcClient) -> list[dict[str, Any]]:
    """The items made from opinions raised at activities, once the ledger stops growing (by id)."""
    last: list[dict[str, Any]] | None = None
    for _ in range(20):
        reply = await client.request(query_subject("feedback", "list"), {"year": YEAR, "source": "activity",
                                                                         "limit": 1000})
        items = sorted(reply["items"], key=lambda i: i["feedback_id"]) if reply.get("ok") else None
        if items is not None and last is not None and len(items) == len(last):
            return items
        last = items
        await asyncio.sleep(1.0)
    return last or []


async def _projects_with_votes(client: RpcClient) -> set[str]:
    """Projects the evaluation view already has votes for (a reload must not change anyone's vote back)."""
    for _ in range(20):
        reply = await client.request(query_subject("feedback", "evaluation"), {"year": YEAR, "limit": 500})
        if reply.get("ok"):
            return {i["project_id"] for i in reply["items"] if i["total"]}
        await asyncio.sleep(1.0)
    return {f"project-{YEAR}-{code}" for code in UNITS}  # unknown: change nobody's vote


async def load(client: RpcClient) -> dict[str, int]:
    """Send the demo feedback and evaluation; what exists is left as it is."""
    groups = await stable_delegates_view(client, "groups", YEAR, WAIT_S)
    supervision = await stable_delegates_view(client, "supervision", YEAR, WAIT_S)
    if not groups or not supervision:
        log.warning("demo feedback skipped: no groups or supervision of the demo year")
        return {"skipped": 1}
    members = {g["group_id"]: list(g["members"]) for g in groups}
    supervising = {s["project_id"].rsplit("-", 1)[-1]: s["group_id"] for s in supervision
                   if s["project_id"].startswith(f"project-{YEAR}-")}
    if not await _caught_up(client):
        log.warning("demo feedback skipped: the feedback service's copy did not catch up")
        return {"skipped": 1}
    loader = Loader(client, members, supervising)
    for item in ITEMS:
        await loader.submit_and_forward(item)
    for number in (1, 2):
        await loader.departments_say([m for item in ITEMS for m in loader.round_messages(item, number)])
        for item in ITEMS:
            await loader.rate(item, number)
    await loader.activity_opinions()
    sweep = await loader.send("sweep_deadlines", {}, "sweeps")
    loader.counts["notices"] += len((sweep or {}).get("notices", []))
    await loader.evaluation()
    return dict(loader.counts)
