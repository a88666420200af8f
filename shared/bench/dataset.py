"""A province-scale data set, generated deterministically from a seed, as event-table rows.

Scale 1.0: 16 cities, 1,000 projects, 100,000 delegates and about 1,000,000 events of the
projects, delegates and activities services (the year opened, departments, voted projects,
plans, monthly progress; the roster, groups, supervision and contact duties; activities with
invitations, attendance, outcomes and opinions; contact points with their contact logs).
Every body is built through its contract class, so it is valid for the services that read it.
An event type a contract no longer accepts is left out and reported, never half-written.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pydantic

import shared.contracts.activities as activities
import shared.contracts.delegates as delegates
import shared.contracts.projects as projects
from shared.contracts.base import Event

YEAR = 2026
# The year the commands phase registers its projects in, open but otherwise empty: registered in YEAR,
# they would grow the measured year (1,800 more projects at scale 0.1) before the queries are timed.
COMMANDS_YEAR = YEAR - 1
# (code, short name) of Yunnan's 16 prefecture-level divisions: a province of cities.
CITIES = [
    ("km", "昆明"), ("qj", "曲靖"), ("yx", "玉溪"), ("bs", "保山"), ("zt", "昭通"), ("lj", "丽江"),
    ("pe", "普洱"), ("lc", "临沧"), ("cx", "楚雄"), ("hh", "红河"), ("ws", "文山"), ("jh", "景洪"),
    ("dl", "大理"), ("dh", "德宏"), ("nj", "怒江"), ("dq", "迪庆"),
]
# (code suffix, department, project category)
DEPARTMENTS = [
    ("zjj", "住房和城乡建设局", "城乡建设"), ("slj", "水利局", "农业农村"), ("jyj", "教育体育局", "教育"),
    ("sthjj", "生态环境局", "生态环境"), ("wjj", "卫生健康局", "医疗卫生"), ("jtj", "交通运输局", "交通"),
    ("swj", "商务局", "商贸"), ("mzj", "民政局", "民政"), ("nyj", "农业农村局", "产业发展"),
    ("cgj", "城市管理局", "城市管理"),
]
TOWNSHIP_SUFFIXES = ["城关镇", "东城街道", "西城街道", "新街镇", "河口镇", "坝子乡", "山后乡", "江边镇"]
WORKS = ["老旧小区改造提升", "农村饮水安全巩固", "中心小学教学楼新建", "污水管网建设", "卫生院能力提升",
         "通村公路提质改造", "农贸市场改造", "敬老院适老化改造", "冷链仓储建设", "公共充电设施建设"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英玉兰萍建华国庆海燕红梅志强金凤"
ETHNICITIES = ["汉族"] * 6 + ["傣族", "彝族", "哈尼族", "白族", "壮族", "苗族", "拉祜族", "佤族", "纳西族", "基诺族"]
ACTIVITY_PLAN = [  # (kind, form, month) of each project's activities through the year
    ("mobilisation", "动员会", 3), ("inspection", None, 4), ("inspection", None, 6), ("research", None, 7),
    ("inspection", None, 8), ("contribution", None, 9), ("inspection", None, 10), ("voter_visit", None, 11),
]
PROGRESS_MONTHS = list(range(2, 12))  # monthly progress reports, February to November
INVITED = 30  # delegates invited to (and recorded at) each activity
OPINIONS = 3  # opinions raised per activity
CONTACT_DELEGATES = 5  # delegates with contact duty per project
CONTACT_LOGS = 500  # contact logs per project in a year (about 5 per delegate of its group)


@dataclass(frozen=True)
class Shape:
    """How big the data set is at a scale; per-project volumes stay realistic at every scale."""

    cities: int
    projects: int
    delegates: int
    contact_logs: int

    @classmethod
    def at(cls, scale: float) -> Shape:
        """The shape at `scale` (1.0 = province: 16 cities, 1,000 projects, 100,000 delegates)."""
        n_projects = max(2, round(1000 * scale))
        return cls(cities=min(len(CITIES), n_projects), projects=n_projects,
                   delegates=max(n_projects * 10, round(100_000 * scale)),
                   contact_logs=CONTACT_LOGS if scale >= 0.01 else 20)

    def expected_events(self) -> int:
        """About how many events the generator writes."""
        per_project = (2 + len(PROGRESS_MONTHS) + 2 + 1 + len(ACTIVITY_PLAN) * (3 + INVITED + OPINIONS)
                       + 1 + self.contact_logs)
        registries = 2 + self.cities * (len(DEPARTMENTS) + 10)  # two years opened
        return self.projects * per_project + 2 * self.delegates + registries

    def project_code(self, p: int) -> str:
        """The code of project p: its city and number, e.g. c12-007."""
        return f"c{p % self.cities + 1:02d}-{p // self.cities + 1:03d}"

    def project_id(self, p: int) -> str:
        """The stream id of project p."""
        return projects.project_stream_id(YEAR, self.project_code(p))

    def lead_unit(self, p: int) -> str:
        """The department leading project p."""
        return f"c{p % self.cities + 1:02d}-{DEPARTMENTS[(p // self.cities) % len(DEPARTMENTS)][0]}"

    def group_id(self, p: int) -> str:
        """The delegate group supervising project p."""
        return f"g-{self.project_code(p)}"

    def delegate_id(self, d: int) -> str:
        """The id of delegate d (in the group of project d mod projects)."""
        return f"c{(d % self.projects) % self.cities + 1:02d}-d{d:06d}"

    def members(self, p: int) -> list[str]:
        """Delegate ids of project p's group."""
        return [self.delegate_id(d) for d in range(p, self.delegates, self.projects)]


@dataclass
class Row:
    """One event-table row, in the column order of COPY."""

    schema: str
    values: tuple[Any, ...]


COPY_COLUMNS = ["stream_id", "version", "event_id", "type", "schema_version", "data", "meta", "occurred_at",
                "recorded_at"]


@dataclass
class Generator:
    """Builds the rows; counts what it wrote and what the contracts refused."""

    shape: Shape
    seed: int
    counts: Counter[str] = field(default_factory=Counter)
    skipped: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.versions: dict[str, int] = {}
        self._meta: dict[str, str] = {}

    # -- one event ---------------------------------------------------------------------------

    def event(self, schema: str, stream_id: str, cls: type[Event] | None, at: datetime, actor: str,
              **fields: Any) -> Row | None:
        """One row, or None when the contract refuses the body (the type is then left out entirely)."""
        if cls is None or cls.type in self.skipped:
            return None
        try:
            body = cls(**fields).model_dump(mode="json")
        except (pydantic.ValidationError, TypeError) as exc:
            self.skipped[cls.type] = str(exc).splitlines()[0][:300]
            return None
        version = self.versions.get(stream_id, 0) + 1
        self.versions[stream_id] = version
        self.counts[f"{schema}.{cls.type}"] += 1
        meta = self._meta.get(actor)
        if meta is None:
            meta = self._meta[actor] = json.dumps({"actor": actor, "correlation_id": "bench-dataset",
                                                   "causation_id": None})
        recorded = at + timedelta(minutes=self.rng.randrange(5, 72 * 60))
        event_id = uuid.UUID(int=self.rng.getrandbits(128), version=4)
        return Row(schema, (stream_id, version, event_id, cls.type, cls.schema_version,
                            json.dumps(body, ensure_ascii=False), meta, at, recorded))

    def rows(self) -> Iterator[Row]:
        """Every row: projects, then delegates, then activities (the order events would be relayed)."""
        for part in (self._projects(), self._delegates(), self._activities()):
            for row in part:
                if row is not None:
                    yield row

    # -- helpers ----------------------------------------------------------------------------

    def _day(self, month: int, lo: int = 1, hi: int = 28) -> date:
        return date(YEAR, month, self.rng.randint(lo, hi))

    def _at(self, day: date, hour: int = 9) -> datetime:
        # Business times in Asia/Shanghai (UTC+8) kept in UTC, as the services store them.
        return datetime(day.year, day.month, day.day, hour, self.rng.randrange(60), tzinfo=UTC) - timedelta(hours=8)

    def _name(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(self.rng.choices(GIVEN, k=self.rng.choice((1, 2))))

    def _township(self, p: int) -> str:
        city = CITIES[p % self.shape.cities][1]
        return city + TOWNSHIP_SUFFIXES[(p // self.shape.cities) % len(TOWNSHIP_SUFFIXES)]

    def _location(self, p: int) -> dict[str, Any]:
        return {"township": self._township(p), "lat": round(21 + self.rng.random() * 7, 5),
                "lon": round(98 + self.rng.random() * 7, 5)}

    # -- projects service --------------------------------------------------------------------

    def _projects(self) -> Iterator[Row | None]:
        s, rng = self.shape, self.rng
        for year in (COMMANDS_YEAR, YEAR):
            calendar = {
                "session_start": date(year, 1, 10), "session_end": date(year, 1, 14),
                "plan_deadline": date(year, 2, 14),
                "mobilisation": {"start": date(year, 2, 1), "end": date(year, 3, 31)},
                "supervision": {"start": date(year, 4, 1), "end": date(year, 11, 30)},
                "summary": {"start": date(year, 12, 1), "end": date(year, 12, 31)},
            }
            yield self.event("projects", projects.year_stream_id(year), getattr(projects, "YearOpened", None),
                             self._at(date(year, 1, 14)), "office:bench", year=year, calendar=calendar)
        for c in range(s.cities):
            for code, name, _ in DEPARTMENTS:
                dept = f"c{c + 1:02d}-{code}"
                yield self.event("projects", projects.department_stream_id(dept),
                                 getattr(projects, "DepartmentRegistered", None), self._at(date(YEAR, 1, 5)),
                                 "office:bench", code=dept, name=CITIES[c][1] + "市" + name, short_name=name)
        for p in range(s.projects):
            code, stream = s.project_code(p), s.project_id(p)
            category = DEPARTMENTS[(p // s.cities) % len(DEPARTMENTS)][2]
            voted_on = date(YEAR, 1, 14)
            common = {"project_id": stream, "year": YEAR, "code": code}
            yield self.event(
                "projects", stream, getattr(projects, "ProjectVoted", None), self._at(voted_on), "office:bench",
                **common, title=self._township(p) + WORKS[(p // s.cities) % len(WORKS)], category=category,
                lead_unit=s.lead_unit(p), townships=[self._township(p)], locations=[self._location(p)],
                budget_wan=round(rng.uniform(200, 5000), 1), votes_for=rng.randint(230, 280),
                votes_against=rng.randint(0, 12), votes_abstain=rng.randint(0, 12), voted_on=voted_on)
            milestones = [{"name": n, "due": date(YEAR, m, 28), "weight": w}
                          for n, m, w in (("前期手续", 3, 15), ("开工建设", 5, 25), ("主体完工", 9, 40), ("竣工验收", 11, 20))]
            yield self.event("projects", stream, getattr(projects, "PlanSubmitted", None),
                             self._at(date(YEAR, 2, 10)), f"dept:{s.lead_unit(p)}", **common, milestones=milestones,
                             target_completion=date(YEAR, 11, 30), submitted_on=date(YEAR, 2, 10),
                             plan_deadline=date(YEAR, 2, 14), late=False)
            done: list[str] = []
            for k, month in enumerate(PROGRESS_MONTHS, start=1):
                as_of = date(YEAR, month, 15)
                done = [m["name"] for m in milestones if m["due"] <= as_of]
                yield self.event("projects", stream, getattr(projects, "ProgressReported", None), self._at(as_of),
                                 f"dept:{s.lead_unit(p)}", **common, reported_by=s.lead_unit(p), as_of=as_of,
                                 percent=min(95.0, 8.0 * k), milestones_completed=done,
                                 narrative="按计划推进，本月完成既定工作量。", funds_spent_wan=round(40.0 * k, 1),
                                 message_id=f"seed-{code}-{month:02d}")

    # -- delegates service -------------------------------------------------------------------

    def _delegates(self) -> Iterator[Row | None]:
        s, rng = self.shape, self.rng
        for c in range(s.cities):
            for k in range(1, 6):
                cm = f"c{c + 1:02d}-cm{k}"
                yield self.event("delegates", delegates.committee_stream_id(cm),
                                 getattr(delegates, "CommitteeRegistered", None), self._at(date(YEAR, 1, 15)),
                                 "office:bench", committee_id=cm, name=f"第{k}专门工作委员会",
                                 categories=[DEPARTMENTS[(2 * k + i) % len(DEPARTMENTS)][2] for i in range(2)])
            for k in range(1, 6):
                leader = f"c{c + 1:02d}-l{k}"
                yield self.event("delegates", delegates.leader_stream_id(leader),
                                 getattr(delegates, "LeaderRegistered", None), self._at(date(YEAR, 1, 15)),
                                 "office:bench", leader_id=leader, name=self._name(), title="副主任",
                                 committee_ids=[f"c{c + 1:02d}-cm{k}"])
        levels = ["city"] * 85 + ["prefecture"] * 10 + ["province"] * 4 + ["national"]
        for d in range(s.delegates):
            p = d % s.projects
            did = s.delegate_id(d)
            yield self.event(
                "delegates", delegates.delegate_stream_id(did), getattr(delegates, "DelegateRegistered", None),
                self._at(date(YEAR, 1, 16)), "office:bench", delegate_id=did, name=self._name(),
                gender=rng.choice(("男", "女")), ethnicity=rng.choice(ETHNICITIES), level=rng.choice(levels),
                constituency=self._township(p), occupation="教师", work_unit=self._township(p) + "中心学校",
                home=self._location(p), phone=f"13{rng.randrange(10**9):09d}", term_start=date(2022, 1, 10))
        for p in range(s.projects):
            g = s.group_id(p)
            yield self.event("delegates", delegates.group_stream_id(g), getattr(delegates, "GroupFormed", None),
                             self._at(date(YEAR, 1, 20)), "office:bench", group_id=g, year=YEAR,
                             name=self._township(p) + "代表小组", kind="township", township=self._township(p))
            for did in s.members(p):
                yield self.event("delegates", delegates.group_stream_id(g),
                                 getattr(delegates, "GroupMemberJoined", None), self._at(date(YEAR, 1, 21)),
                                 "office:bench", group_id=g, year=YEAR, delegate_id=did)
        for p in range(s.projects):
            c = p % s.cities
            stream = delegates.supervision_stream_id(s.project_id(p))
            yield self.event("delegates", stream, getattr(delegates, "SupervisionAssigned", None),
                             self._at(date(YEAR, 2, 20)), "office:bench", project_id=s.project_id(p), year=YEAR,
                             leader_id=f"c{c + 1:02d}-l{p % 5 + 1}", committee_id=f"c{c + 1:02d}-cm{p % 5 + 1}",
                             group_id=s.group_id(p))
            yield self.event("delegates", stream, getattr(delegates, "ContactDutyAssigned", None),
                             self._at(date(YEAR, 2, 21)), "office:bench", project_id=s.project_id(p), year=YEAR,
                             delegate_ids=s.members(p)[:CONTACT_DELEGATES])

    # -- activities service ------------------------------------------------------------------

    def _activities(self) -> Iterator[Row | None]:
        s, rng = self.shape, self.rng
        for p in range(s.projects):
            code, members = s.project_code(p), s.members(p)
            for k, (kind, form, month) in enumerate(ACTIVITY_PLAN, start=1):
                aid = f"{code}-a{k}"
                stream = activities.activity_stream_id(aid)
                day = self._day(month, 5, 25)
                starts = self._at(day, 9)
                invited = members[:INVITED]
                yield self.event(
                    "activities", stream, getattr(activities, "ActivityScheduled", None), starts - timedelta(days=7),
                    "office:bench", activity_id=aid, year=YEAR, kind=kind, form=form,
                    title=f"{self._township(p)}项目{'视察' if kind == 'inspection' else '活动'}",
                    project_ids=[s.project_id(p)], group_ids=[s.group_id(p)], organiser="人大办",
                    starts_at=starts, ends_at=starts + timedelta(hours=3), place=self._township(p) + "项目现场",
                    phase="mobilisation" if month < 4 else "supervision")
                yield self.event("activities", stream, getattr(activities, "DelegatesInvited", None),
                                 starts - timedelta(days=6), "office:bench", activity_id=aid, delegate_ids=invited,
                                 group_ids=[s.group_id(p)])
                for did in invited:
                    roll = rng.random()
                    status = "present" if roll < 0.85 else "excused" if roll < 0.95 else "absent"
                    yield self.event("activities", stream, getattr(activities, "AttendanceRecorded", None),
                                     starts + timedelta(hours=4), "office:bench", activity_id=aid, delegate_id=did,
                                     status=status, excuse_reason="公务外出" if status == "excused" else "")
                yield self.event("activities", stream, getattr(activities, "OutcomeRecorded", None),
                                 starts + timedelta(hours=5), "office:bench", activity_id=aid, year=YEAR, kind=kind,
                                 minutes="听取项目单位汇报，实地查看施工现场，代表们提出意见建议。",
                                 findings=["施工进度基本符合计划", "群众对项目总体满意"])
                for j in range(1, OPINIONS + 1):
                    yield self.event("activities", stream, getattr(activities, "OpinionRaised", None),
                                     starts + timedelta(hours=5), "office:bench", activity_id=aid, opinion_id=f"o{j}",
                                     year=YEAR, project_id=s.project_id(p), category="suggestion",
                                     content="建议加快施工进度，做好施工期间交通疏导和安全防护。",
                                     raised_by=[rng.choice(invited)], group_id=s.group_id(p), raised_on=day)
            cp = f"{code}-cp"
            stream = activities.contact_point_stream_id(cp)
            duty = members[:CONTACT_DELEGATES]
            yield self.event("activities", stream, getattr(activities, "ContactPointEstablished", None),
                             self._at(date(YEAR, 4, 1)), "office:bench", contact_point_id=cp,
                             project_id=s.project_id(p),
                             year=YEAR, place=self._township(p) + "村委会", delegate_ids=duty,
                             established_on=date(YEAR, 4, 1))
            days = sorted(self._day(self.rng.randint(4, 11)) for _ in range(s.contact_logs))
            for n, day in enumerate(days, start=1):
                yield self.event("activities", stream, getattr(activities, "ContactLogged", None), self._at(day, 15),
                                 f"delegate:{duty[n % len(duty)]}", contact_point_id=cp, log_id=f"l{n:04d}",
                                 project_id=s.project_id(p), year=YEAR, delegate_id=duty[n % len(duty)],
                                 contacted_on=day, progress="施工队伍已进场，主体工程按计划推进。",
                                 public_response="群众总体满意，希望早日完工。", help_given=["liaison"])
