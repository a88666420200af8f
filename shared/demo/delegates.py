"""Demo data of the delegates service: Jinghong's roster (~300 delegates of every level), the 2026 groups
of its townships, sub-district and farms, the standing committee's leaders and committees, and the
supervision of every demo project as the proximity suggestion proposes it.

Generated from a fixed seed: ids (d001 ...) and names are the same on every run, so loading again
changes nothing. Coordinates are approximate, with neighbouring townships kept neighbours.
"""

from __future__ import annotations

import asyncio
import random
from datetime import date
from typing import Any

from shared.contracts.base import Command
from shared.contracts.delegates import (
    SERVICE,
    AddGroupMember,
    AppointGroupLeader,
    AssignContactDuty,
    AssignSupervision,
    EndDelegateTerm,
    FormGroup,
    RegisterCommittee,
    RegisterDelegate,
    RegisterLeader,
    SuggestSupervision,
)
from shared.contracts.projects import Location
from shared.errors import Conflict, HuiminError, NotFound
from shared.logging import get_logger
from shared.rpc import RpcClient
from shared.subjects import command_subject, query_subject

ORDER = 20  # after the projects (10): supervision needs the voted projects
YEAR = 2026
PROJECT_IDS = [f"project-{YEAR}-{n:02d}" for n in range(1, 11)]
CONTACT_DELEGATES = 3  # named per project, nearest members of the assigned group
SUGGESTION_WAIT_S = 45.0  # how long to wait for the service's copy of the projects' events

log = get_logger(__name__)

# (group code, name of the area, kind, township it lies in, lat, lon, delegates living there)
AREAS = [
    ("yunjinghong", "允景洪街道", "subdistrict", "允景洪街道", 22.0145, 100.7984, 64),
    ("gasa", "嘎洒镇", "township", "嘎洒镇", 21.9560, 100.7600, 36),
    ("menglong", "勐龙镇", "township", "勐龙镇", 21.6100, 100.6300, 24),
    ("menghan", "勐罕镇", "township", "勐罕镇", 21.8520, 100.9300, 24),
    ("mengyang", "勐养镇", "township", "勐养镇", 22.1500, 100.8700, 22),
    ("puwen", "普文镇", "township", "普文镇", 22.5100, 101.0500, 18),
    ("jingha", "景哈哈尼族乡", "township", "景哈哈尼族乡", 21.7700, 100.7100, 18),
    ("jinuoshan", "基诺山基诺族乡", "township", "基诺山基诺族乡", 22.0500, 101.0200, 16),
    ("jingne", "景讷乡", "township", "景讷乡", 22.3600, 100.9700, 12),
    ("dadugang", "大渡岗乡", "township", "大渡岗乡", 22.3000, 101.0800, 14),
    ("mengwang", "勐旺乡", "township", "勐旺乡", 22.4300, 100.6500, 12),
    ("dongfeng", "东风农场", "farm", "勐龙镇", 21.7000, 100.6800, 20),
    ("ganlanba", "橄榄坝农场", "farm", "勐罕镇", 21.8750, 100.9000, 20),
]
# Ethnic make-up per area (weights), after the 2020 census shares of data/jinghong.md.
_MIXED = {"傣族": 50, "汉族": 25, "哈尼族": 15, "彝族": 4, "拉祜族": 3, "布朗族": 3, "瑶族": 1}
ETHNIC_MIX = {"景哈哈尼族乡": {"哈尼族": 60, "傣族": 20, "汉族": 20},
              "基诺山基诺族乡": {"基诺族": 75, "汉族": 15, "傣族": 10},
              "景讷乡": {"汉族": 30, "哈尼族": 25, "彝族": 20, "拉祜族": 15, "瑶族": 10},
              "勐旺乡": {"拉祜族": 25, "瑶族": 20, "彝族": 20, "汉族": 20, "哈尼族": 15},
              "东风农场": {"汉族": 65, "傣族": 15, "哈尼族": 10, "彝族": 10},
              "橄榄坝农场": {"汉族": 60, "傣族": 25, "哈尼族": 15}}
LEVELS = ["national"] * 2 + ["province"] * 6 + ["prefecture"] * 18 + ["township"] * 30
TERM_START = {"township": date(2021, 12, 20), "city": date(2022, 1, 10), "prefecture": date(2022, 1, 15),
              "province": date(2023, 1, 13), "national": date(2023, 3, 5)}
ENDED = {"d098": "调离本市", "d187": "因病辞去代表职务", "d263": "调任外地工作"}  # ended on 2025-12-31

# Names: Dai and Bulang use 岩 (men) / 玉 (women); Lahu 扎 / 娜; others a surname and a given name.
_DAI = "温 罕 香 叫 庄 坎 丙 光 应 拉 腊 胆 帕 伦 捧 燕 依 章 恩 边 所 扁 吞 哈 龙 囡 糯 万 湘 金 喃 嫩".split()
_LAHU = "约 体 迫 克 莫 戈 倮 发 努 拉 帕 儿 丕 妥 列".split()
_HAN_M = "建华 志强 国庆 文军 海涛 晓东 俊 明 勇 伟 磊 刚 斌 永刚 建国 家明 振华 宏伟 云峰 德荣 学文 正平 世杰 开元".split()
_HAN_F = "丽 红梅 海燕 秀英 春燕 玉兰 静 芳 敏 娟 丽萍 晓燕 雪梅 桂芬 慧 婷 琳 艳 翠华 美玲 丽娟 云仙".split()
_SURNAMES = {"汉族": "张 王 李 刘 陈 杨 赵 黄 周 吴 徐 孙 马 朱 胡 郭 何 高 林 罗 郑 梁 谢 宋 唐 许 韩 邓 曹 彭".split(),
             "哈尼族": "白 车 李 杨 朱 沙 陈 马".split(), "基诺族": "沙 资 白 车 周 何".split(),
             "彝族": "普 李 罗 毕 杨 起 鲁 陆".split(), "瑶族": "盘 邓 赵 李 黄 冯 蒋".split()}
_MINORITY_GIVEN = {"哈尼族": "者 然 约 努 嘎 明 文 秋 斗 布 忠 才 玛 梭 批".split(),
                   "基诺族": "切 布鲁 腊先 金寿 木拉 杰 然 泽 约 腊 飘 车".split()}
# (occupation, work unit; {t} township, {v} village)
JOBS = [("村委会主任", "{t}{v}村委会"), ("村党总支书记", "{t}{v}村党总支"), ("教师", "{t}中心小学"),
        ("医生", "{t}卫生院"), ("橡胶种植户", "{t}{v}村"), ("茶农", "{t}{v}村茶叶专业合作社"),
        ("个体工商户", "{t}农贸市场"), ("企业负责人", "景洪{v}商贸有限公司"), ("乡镇干部", "{t}人民政府"),
        ("社区党组织书记", "{t}{v}社区"), ("农技员", "{t}农业服务中心")]
_VILLAGES = "曼听 曼景兰 曼弄枫 曼贺 曼飞龙 曼养 曼掌 曼迈 勐宋 南联山 曼广 曼勒 曼远 曼暖典 纳板".split()
COMMITTEES = [("cjw", "财政经济工作委员会", ["商贸", "产业发展"]),
              ("chjw", "城乡建设环境保护工作委员会", ["城乡建设", "生态环境", "交通", "城市管理"]),
              ("jkwwh", "教育科学文化卫生工作委员会", ["教育", "医疗卫生"]),
              ("nww", "农业农村工作委员会", ["农业农村", "产业发展"]),
              ("shjsw", "社会建设工作委员会", ["民政", "社会保障"]),
              ("fzw", "法制工作委员会", []), ("dbgw", "代表工作委员会", [])]
LEADERS = [("zr", "刀建华", "主任", ["dbgw"]), ("fzr1", "李文明", "副主任", ["chjw"]),
           ("fzr2", "玉罕香", "副主任", ["jkwwh", "shjsw"]), ("fzr3", "白永华", "副主任", ["nww"]),
           ("fzr4", "张丽萍", "副主任", ["cjw", "fzw"])]


def _name(rng: random.Random, ethnicity: str, gender: str) -> str:
    if ethnicity in ("傣族", "布朗族"):
        return ("岩" if gender == "男" else "玉") + "".join(rng.sample(_DAI, rng.choice((1, 2, 2))))
    if ethnicity == "拉祜族":
        return rng.choice(("", "李", "刘")) + ("扎" if gender == "男" else "娜") + rng.choice(_LAHU)
    given = _MINORITY_GIVEN.get(ethnicity)
    given_name = "".join(rng.sample(given, rng.choice((1, 2)))) if given else rng.choice(
        _HAN_M if gender == "男" else _HAN_F)
    return rng.choice(_SURNAMES[ethnicity]) + given_name


def _near(rng: random.Random, township: str, lat: float, lon: float, label: str | None = None) -> Location:
    """A point within about 2 km of (lat, lon), in `township`."""
    return Location(township=township, label=label, lat=round(lat + rng.uniform(-0.018, 0.018), 4),
                    lon=round(lon + rng.uniform(-0.018, 0.018), 4))


def roster() -> list[tuple[RegisterDelegate, str]]:
    """Every demo delegate, with the group code of the area they live in (same list on every call)."""
    rng = random.Random(20260120)
    levels = LEVELS + ["city"] * (sum(a[-1] for a in AREAS) - len(LEVELS))
    rng.shuffle(levels)
    seat = next(a for a in AREAS if a[0] == "yunjinghong")
    out, names = [], set()
    for code, area, kind, township, lat, lon, count in AREAS:
        for _ in range(count):
            n = len(out) + 1
            ethnicity = rng.choices(*zip(*ETHNIC_MIX.get(area, _MIXED).items()))[0]
            gender = "女" if rng.random() < 0.42 else "男"
            name = _name(rng, ethnicity, gender)
            while name in names:
                name = _name(rng, ethnicity, gender)
            names.add(name)
            job, unit = rng.choice(JOBS)
            if kind == "farm":
                job, unit, work = rng.choice(("职工", "生产队长", "胶工")), area, Location(
                    township=township, label=area, lat=lat, lon=lon)
            elif rng.random() < 0.15:  # works in the city centre
                job, unit, work = "机关干部", "景洪市人民政府", _near(rng, seat[3], seat[4], seat[5])
            else:
                work = _near(rng, township, lat, lon)
            level = levels[n - 1]
            out.append((RegisterDelegate(
                delegate_id=f"d{n:03d}", name=name, gender=gender, ethnicity=ethnicity, level=level,
                constituency=township, occupation=job,
                work_unit=unit.format(t=township, v=rng.choice(_VILLAGES)), home=_near(rng, township, lat, lon),
                work=work, phone=f"1{rng.choice('3589')}{rng.randrange(10 ** 9):09d}", term_start=TERM_START[level],
            ), code))
    return out


def groups() -> list[FormGroup]:
    """The 2026 groups: one per township and sub-district (organised by its presidium/working committee)
    and one per reclamation farm."""
    suffix = {"subdistrict": "人大工委代表小组", "township": "人大主席团代表小组", "farm": "代表小组"}
    return [FormGroup(group_id=f"{code}-{YEAR}", year=YEAR, name=f"{area}{suffix[kind]}", kind=kind,
                      township=township, location=Location(township=township, label=area, lat=lat, lon=lon))
            for code, area, kind, township, lat, lon, _ in AREAS]


async def _send(client: RpcClient, cmd: Command, counts: dict[str, int], key: str) -> None:
    try:
        await client.call(command_subject(SERVICE, cmd.name), cmd, actor="demo-loader")
        counts[key] = counts.get(key, 0) + 1
    except Conflict:
        counts["existing"] = counts.get("existing", 0) + 1


async def _send_all(client: RpcClient, cmds: list[Command], counts: dict[str, int], key: str) -> None:
    for i in range(0, len(cmds), 8):  # a few at a time (streams of their own): a quicker start
        await asyncio.gather(*(_send(client, c, counts, key) for c in cmds[i:i + 8]))


async def _suggestion(client: RpcClient, project_id: str, deadline: float, **kwargs: Any) -> dict[str, Any] | None:
    """The suggestion once the service knows the project and its year is open; None after the deadline."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            s = await client.call(query_subject(SERVICE, SuggestSupervision.name),
                                  SuggestSupervision(project_id=project_id, **kwargs))
            if s["year_open"]:
                return s
        except NotFound:
            pass
        if loop.time() > deadline:
            return None
        await asyncio.sleep(0.5)


async def assign_by_suggestion(client: RpcClient, project_id: str, deadline: float) -> str:
    """Assign a project's supervision and contact duty as the suggestion ranks them; what happened."""
    s = await _suggestion(client, project_id, deadline)
    if s is None:
        return "pending"
    if s["assigned"] is not None:
        return "existing"
    group_id = s["groups"][0]["group_id"]
    await client.call(command_subject(SERVICE, AssignSupervision.name), AssignSupervision(
        project_id=project_id, leader_id=s["leaders"][0]["leader_id"], committee_id=s["committees"][0]["committee_id"],
        group_id=group_id), actor="demo-loader")
    nearest = await _suggestion(client, project_id, deadline, group_id=group_id, limit=CONTACT_DELEGATES)
    ids = [d["delegate_id"] for d in (nearest or {}).get("delegates", [])]
    if ids:
        await client.call(command_subject(SERVICE, AssignContactDuty.name),
                          AssignContactDuty(project_id=project_id, delegate_ids=ids), actor="demo-loader")
    return "assigned"


async def load(client: RpcClient) -> dict[str, int]:
    """Send the demo data; what is already there is left as it is (safe to run on every start)."""
    counts: dict[str, int] = {}
    for cid, name, categories in COMMITTEES:
        await _send(client, RegisterCommittee(committee_id=cid, name=name, categories=categories), counts, "committees")
    for lid, name, title, committee_ids in LEADERS:
        await _send(client, RegisterLeader(leader_id=lid, name=name, title=title, committee_ids=committee_ids),
                    counts, "leaders")
    people = roster()
    await _send_all(client, [cmd for cmd, _ in people], counts, "delegates")
    await _send_all(client, [EndDelegateTerm(delegate_id=d, ended_on=date(2025, 12, 31), reason=r)
                             for d, r in ENDED.items()], counts, "terms_ended")
    await _send_all(client, list(groups()), counts, "groups")
    active = [(cmd, f"{code}-{YEAR}") for cmd, code in people if cmd.delegate_id not in ENDED]
    by_group: dict[str, list[Command]] = {}
    for cmd, g in active:
        by_group.setdefault(g, []).append(AddGroupMember(group_id=g, delegate_id=cmd.delegate_id))

    async def join(cmds: list[Command]) -> None:  # one group's members one after the other (one stream)
        for c in cmds:
            await _send(client, c, counts, "members")

    await asyncio.gather(*(join(cmds) for cmds in by_group.values()))
    for g in groups():  # the group leader (组长): its first city-level member
        leader = next(cmd.delegate_id for cmd, gid in active if gid == g.group_id and cmd.level == "city")
        await _send(client, AppointGroupLeader(group_id=g.group_id, delegate_id=leader), counts, "group_leaders")
    deadline = asyncio.get_running_loop().time() + SUGGESTION_WAIT_S
    for project_id in PROJECT_IDS:
        try:
            outcome = await assign_by_suggestion(client, project_id, deadline)
        except HuiminError as exc:
            log.warning("demo supervision not assigned", project_id=project_id, error=exc.message)
            outcome = "refused"
        counts[f"supervision_{outcome}"] = counts.get(f"supervision_{outcome}", 0) + 1
    return counts
