"""Pure checks of what a command refers to (project, delegates, group, departments) against the copy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.contracts.feedback import ForwardFeedback, SubmitFeedback
from shared.errors import ValidationFailed


@dataclass(frozen=True)
class SubmissionFacts:
    """What the copy knows about a submission's references (None: unknown)."""

    project_year: int | None = None
    delegates: Mapping[str, bool] = field(default_factory=dict)  # delegate id -> active
    group_year: int | None = None
    group_members: frozenset[str] = frozenset()


def check_submission(cmd: SubmitFeedback, facts: SubmissionFacts) -> None:
    """Refuse a submission naming an unknown project, delegate or group, or one of another year."""
    problems = []
    if cmd.project_id and facts.project_year is None:
        problems.append({"field": "project_id", "message": "项目不存在 / no such project"})
    elif cmd.project_id and facts.project_year != cmd.year:
        problems.append({"field": "project_id", "message": "项目不属于该年度 / the project is of another year"})
    for i, delegate_id in enumerate(cmd.raised_by):
        active = facts.delegates.get(delegate_id)
        if active is None:
            problems.append({"field": f"raised_by.{i}", "message": f"代表 {delegate_id} 不存在 / no such delegate"})
        elif not active:
            problems.append({"field": f"raised_by.{i}",
                             "message": f"代表 {delegate_id} 任期已结束 / the delegate's term has ended"})
    if cmd.group_id and facts.group_year is None:
        problems.append({"field": "group_id", "message": "代表小组不存在 / no such group"})
    elif cmd.group_id and cmd.source == "group":
        if facts.group_year != cmd.year:
            problems.append({"field": "group_id", "message": "代表小组不属于该年度 / the group is of another year"})
        outsiders = [d for d in cmd.raised_by if d not in facts.group_members]
        if outsiders:
            problems.append({"field": "raised_by", "message": f"{'、'.join(outsiders)} 不是该小组成员 / "
                                                              "not members of the group"})
    if problems:
        raise ValidationFailed("意见登记有误 / invalid feedback", problems)


def check_departments(cmd: ForwardFeedback, known: set[str]) -> None:
    """Refuse forwarding to a department the registry does not know."""
    named = [("main_department", cmd.main_department)] + [
        (f"co_departments.{i}", code) for i, code in enumerate(cmd.co_departments)]
    problems = [{"field": f, "message": f"单位 {code} 未登记 / department not registered"}
                for f, code in named if code not in known]
    if problems:
        raise ValidationFailed("交办有误 / invalid forwarding", problems)
