"""Schedule status of a project (green / amber / red) with its reasons: pure, unit-tested rules.

Expected progress comes from the plan: each milestone's weight is earned linearly between the
previous milestone's due date (or the plan's start) and its own; reported progress is the latest
report's percent. Thresholds come from settings, `day` is a parameter (never "now" inside).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class PlannedMilestone:
    """A milestone of the current plan and whether a report marked it done."""

    name: str
    due: date
    weight: float
    done: bool


@dataclass(frozen=True)
class Thresholds:
    """When a project turns amber or red (points behind) and when a report is stale (days)."""

    amber_points: float = 10
    red_points: float = 30
    stale_days: int = 30


def expected_percent(milestones: list[PlannedMilestone], start: date, day: date) -> float:
    """Percent the plan expects by `day`: weights earned linearly up to each milestone's due date."""
    earned, previous = 0.0, start
    for m in sorted(milestones, key=lambda m: m.due):
        if day >= m.due:
            earned += m.weight
        elif day > previous:
            span = (m.due - previous).days
            earned += m.weight * (day - previous).days / span if span > 0 else 0.0
            break
        else:
            break
        previous = m.due
    return round(min(earned, 100.0), 1)


def reason(code: str, zh: str, **facts: Any) -> dict[str, Any]:
    """A reason shown next to a status: a stable code, Chinese text, and the facts behind it."""
    return {"code": code, "text": zh, **facts}


def schedule_status(*, day: date, lifecycle: str, milestones: list[PlannedMilestone], plan_start: date | None,
                    plan_deadline: date | None, plan_late: bool, percent: float | None, last_report_on: date | None,
                    open_obstacles: int, thresholds: Thresholds) -> tuple[str, list[dict[str, Any]], float | None]:
    """(status, reasons, expected percent) of a project on `day`; status is green, amber, red or grey."""
    if lifecycle in ("completed", "accepted"):
        return "green", [reason(lifecycle, "已完工" if lifecycle == "completed" else "已验收")], 100.0
    if lifecycle == "cancelled":
        return "grey", [reason("cancelled", "项目已取消")], None
    reasons: list[dict[str, Any]] = []
    red = amber = False
    if not milestones:
        if plan_deadline is not None and day > plan_deadline:
            red = True
            reasons.append(reason("no_plan", f"超过计划报送期限（{plan_deadline}）仍未报送实施计划",
                                  deadline=plan_deadline.isoformat()))
        return ("red" if red else "green"), reasons, None
    expected = expected_percent(milestones, plan_start or day, day)
    reported = percent or 0.0
    behind = round(expected - reported, 1)
    if behind >= thresholds.red_points:
        red = True
    elif behind >= thresholds.amber_points:
        amber = True
    if behind >= thresholds.amber_points:
        reasons.append(reason("behind", f"进度落后计划 {behind:g} 个百分点（应达 {expected:g}%，报告 {reported:g}%）",
                              expected=expected, reported=reported, behind=behind))
    stale_since = last_report_on or plan_start
    if stale_since is not None and (day - stale_since).days > thresholds.stale_days:
        amber = True
        reasons.append(reason("stale", f"已 {(day - stale_since).days} 天未报送进展", days=(day - stale_since).days))
    overdue = [m.name for m in milestones if not m.done and m.due < day]
    if overdue:
        amber = True
        reasons.append(reason("milestones_overdue", f"{len(overdue)} 个节点逾期未完成：{'、'.join(overdue)}",
                              milestones=overdue))
    if open_obstacles:
        amber = True
        reasons.append(reason("obstacles", f"{open_obstacles} 个问题尚未解决", count=open_obstacles))
    if plan_late:
        amber = True
        reasons.append(reason("plan_late", "实施计划逾期报送"))
    return ("red" if red else "amber" if amber else "green"), reasons, expected
