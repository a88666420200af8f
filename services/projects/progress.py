"""Rules of a project's plan, progress reports and obstacles (pure: dates and state come in)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from services.projects.project_state import (
    ProjectState, World, ids, require_active, require_plan, require_project,
)
from services.projects.rules import Problems, check_day, refuse
from services.projects.year import require_open_year
from shared.contracts.projects import (
    Milestone, ObstacleReported, ObstacleResolved, PlanRevised, PlanSubmitted, ProgressReported, ReportObstacle,
    ReportProgress, ResolveObstacle, RevisePlan, SubmitPlan,
)
from shared.errors import Conflict, Forbidden, NotFound


def check_milestones(p: Problems, milestones: Sequence[Milestone], target: date, *, year: int, start: date) -> None:
    """Names unique, weights summing to 100, due dates inside the year and by the target completion."""
    seen: set[str] = set()
    for i, m in enumerate(milestones):
        if m.name in seen:
            p.add(f"milestones.{i}.name", f"节点名称“{m.name}”重复", f"milestone {m.name!r} repeated",
                  code="duplicate_milestone")
        seen.add(m.name)
        if m.due.year != year:
            p.add(f"milestones.{i}.due", f"节点日期 {m.due} 不在 {year} 年度内",
                  f"due date {m.due} is outside the year {year}", code="date_outside_year")
        elif m.due < start:
            p.add(f"milestones.{i}.due", f"节点日期 {m.due} 早于票决日期",
                  f"due date {m.due} is before the vote", code="date_before_vote")
        if m.due > target:
            p.add(f"milestones.{i}.due", f"节点日期 {m.due} 晚于计划完成日期 {target}",
                  f"due date {m.due} is after the target completion {target}", code="milestone_after_target")
    total = sum(m.weight for m in milestones)
    if total != 100:
        p.add("milestones", f"各节点权重合计为 {total}，应为 100", f"milestone weights sum to {total}, not 100",
              code="weights_not_100")
    if target.year != year:
        p.add("target_completion", f"计划完成日期不在 {year} 年度内",
              f"the target completion is outside the year {year}", code="date_outside_year")
    elif target < start:
        p.add("target_completion", "计划完成日期早于票决日期", "the target completion is before the vote",
              code="date_before_vote")


def submit_plan(cmd: SubmitPlan, state: ProjectState, world: World, today: date) -> list[PlanSubmitted]:
    """A plan, late when submitted after the year's plan deadline."""
    cal = require_open_year(world.year, cmd.year)
    voted = require_project(state, cmd.code)
    require_active(state)
    if state.plan is not None:
        raise refuse(Conflict, "plan_exists", "已报送实施计划；修改请提交计划修订（须说明理由）",
                     "a plan was already submitted; send a plan revision with a reason")
    p = Problems()
    check_day(p, "submitted_on", cmd.submitted_on, year=cmd.year, today=today,
              earliest=(voted.voted_on, "date_before_vote", "票决日期", "the vote"))
    check_milestones(p, cmd.milestones, cmd.target_completion, year=cmd.year, start=voted.voted_on)
    p.raise_if_any("实施计划有误", "invalid implementation plan")
    days_late = max(0, (cmd.submitted_on - cal.plan_deadline).days)
    return [PlanSubmitted(**ids(voted), milestones=cmd.milestones, target_completion=cmd.target_completion,
                          submitted_on=cmd.submitted_on, plan_deadline=cal.plan_deadline, late=days_late > 0,
                          days_late=days_late)]


def revise_plan(cmd: RevisePlan, state: ProjectState, world: World, today: date) -> list[PlanRevised]:
    """A revised plan replacing the one in force; milestones already reported done must stay."""
    require_open_year(world.year, cmd.year)
    voted = require_project(state, cmd.code)
    require_active(state)
    plan = require_plan(state)
    p = Problems()
    check_day(p, "revised_on", cmd.revised_on, year=cmd.year, today=today,
              earliest=(plan.changed_on, "date_before_plan", "现行计划日期", "the plan in force"))
    check_milestones(p, cmd.milestones, cmd.target_completion, year=cmd.year, start=voted.voted_on)
    done = state.last_report.milestones_completed if state.last_report else frozenset()
    for name in sorted(done - {m.name for m in cmd.milestones}):
        p.add("milestones", f"已完成的节点“{name}”不能从计划中删除",
              f"milestone {name!r} was reported completed and cannot be removed", code="completed_milestone_removed")
    if tuple(cmd.milestones) == plan.milestones and cmd.target_completion == plan.target_completion:
        p.add("milestones", "修订后的计划与现行计划相同", "the revision is the same as the plan in force",
              code="no_change")
    p.raise_if_any("计划修订有误", "invalid plan revision")
    return [PlanRevised(**ids(voted), revision=plan.revision + 1, milestones=cmd.milestones,
                        target_completion=cmd.target_completion, revised_on=cmd.revised_on, reason=cmd.reason)]


def report_progress(cmd: ReportProgress, state: ProjectState, world: World, today: date) -> list[ProgressReported]:
    """A progress report of a responsible department, as of a date between the plan and acceptance."""
    require_open_year(world.year, cmd.year)
    voted = require_project(state, cmd.code)
    if cmd.reported_by not in state.responsible_units:
        raise refuse(Forbidden, "not_responsible_unit", f"部门 {cmd.reported_by} 不是项目 {cmd.code} 的牵头单位或配合单位",
                     f"department {cmd.reported_by} is neither the lead unit nor a co-unit of project {cmd.code}",
                     "reported_by")
    require_active(state, allow_completed=True)
    plan = require_plan(state)
    p = Problems()
    check_day(p, "as_of", cmd.as_of, year=cmd.year, today=today,
              earliest=(plan.first_submitted_on, "date_before_plan", "实施计划报送日期", "the plan's submission"))
    last = state.last_report
    if last is not None and cmd.as_of < last.as_of:
        p.add("as_of", f"截至日期早于上次报告（{last.as_of}）",
              f"as-of date is before the latest report ({last.as_of})", code="as_of_before_last_report")
    if last is not None and not cmd.correction:
        if cmd.percent < last.percent:
            p.add("percent", f"完成百分比低于上次报告（{last.percent:g}%）；如需更正请标明更正并说明理由",
                  f"percent is below the latest report ({last.percent:g}%); "
                  "mark the report as a correction with a reason", code="percent_decreased")
        for name in sorted(last.milestones_completed - set(cmd.milestones_completed)):
            p.add("milestones_completed", f"上次已完成的节点“{name}”未列入；如需更正请标明更正",
                  f"milestone {name!r} was completed in the latest report; mark the report as a correction",
                  code="milestone_uncompleted")
    if cmd.correction and not cmd.correction_reason.strip():
        p.add("correction_reason", "更正报告须说明理由", "a correction needs a reason",
              code="correction_reason_missing")
    seen: set[str] = set()
    for i, name in enumerate(cmd.milestones_completed):
        if name not in plan.names:
            p.add(f"milestones_completed.{i}", f"计划中没有节点“{name}”",
                  f"no milestone {name!r} in the plan", code="unknown_milestone")
        elif name in seen:
            p.add(f"milestones_completed.{i}", f"节点“{name}”重复", f"milestone {name!r} repeated",
                  code="duplicate_milestone")
        seen.add(name)
    p.raise_if_any("进度报告有误", "invalid progress report")
    return [ProgressReported(**ids(voted), **cmd.model_dump(exclude={"year", "code"}))]


def report_obstacle(cmd: ReportObstacle, state: ProjectState, world: World, today: date) -> list[ObstacleReported]:
    """An obstacle met by a project under way; numbered o1, o2 … within the project."""
    require_open_year(world.year, cmd.year)
    voted = require_project(state, cmd.code)
    require_active(state)
    if (cmd.kind, cmd.description, cmd.reported_on) in state.obstacle_keys:
        raise refuse(Conflict, "obstacle_exists", "同一阻碍已于当日报告过", "the same obstacle was already reported that day")
    p = Problems()
    check_day(p, "reported_on", cmd.reported_on, year=cmd.year, today=today,
              earliest=(voted.voted_on, "date_before_vote", "票决日期", "the vote"))
    p.raise_if_any("阻碍情况有误", "invalid obstacle report")
    return [ObstacleReported(**ids(voted), obstacle_id=f"o{state.obstacles_reported + 1}", kind=cmd.kind,
                             description=cmd.description, reported_on=cmd.reported_on, source=cmd.source)]


def resolve_obstacle(cmd: ResolveObstacle, state: ProjectState, world: World, today: date) -> list[ObstacleResolved]:
    """An open obstacle overcome, on or after the day it was reported."""
    require_open_year(world.year, cmd.year)
    voted = require_project(state, cmd.code)
    require_active(state)
    if not 1 <= int(cmd.obstacle_id[1:]) <= state.obstacles_reported:
        raise refuse(NotFound, "obstacle_not_found", f"没有阻碍 {cmd.obstacle_id}", f"no obstacle {cmd.obstacle_id}",
                     "obstacle_id")
    reported_on = state.open_obstacles.get(cmd.obstacle_id)
    if reported_on is None:
        raise refuse(Conflict, "obstacle_already_resolved", f"阻碍 {cmd.obstacle_id} 已解决",
                     f"obstacle {cmd.obstacle_id} is already resolved", "obstacle_id")
    p = Problems()
    check_day(p, "resolved_on", cmd.resolved_on, year=cmd.year, today=today,
              earliest=(reported_on, "date_before_obstacle", "阻碍报告日期", "the obstacle's report"))
    p.raise_if_any("阻碍解决情况有误", "invalid obstacle resolution")
    return [ObstacleResolved(**ids(voted), obstacle_id=cmd.obstacle_id, resolved_on=cmd.resolved_on,
                             resolution=cmd.resolution)]
