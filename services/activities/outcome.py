"""Rules for an activity's outcome: minutes, findings, opinions, a research report, a contribution."""

from __future__ import annotations

from datetime import datetime

from services.activities.references import Problems, References, ensure_year_open
from services.activities.state import ActivityState, require_scheduled, require_started
from shared.contracts.activities import OpinionInput, OpinionRaised, OutcomeRecorded, RaiseOpinions, RecordOutcome
from shared.contracts.base import Event
from shared.errors import Conflict

ABSENT = {"absent", "excused"}


def _opinions(problems: Problems, state: ActivityState, opinions: list[OpinionInput],
              field_: str) -> list[OpinionRaised]:
    """One OpinionRaised per opinion, numbered after those already raised; note problems."""
    events = []
    for i, opinion in enumerate(opinions):
        at = f"{field_}.{i}"
        project_id = opinion.project_id
        if project_id is None and len(state.project_ids) == 1:
            project_id = state.project_ids[0]
        elif project_id is None:
            problems.add(f"{at}.project_id", "活动涉及多个项目，请指明意见所属项目",
                         "the activity covers several projects: name the opinion's project")
        elif project_id not in state.project_ids:
            problems.add(f"{at}.project_id", f"项目 {project_id} 不是本次活动的项目",
                         f"project {project_id} is not a project of the activity")
        if len(set(opinion.raised_by)) != len(opinion.raised_by):
            problems.add(f"{at}.raised_by", "提出人重复", "a delegate is named twice")
        for j, delegate_id in enumerate(opinion.raised_by):
            record = state.attendance.get(delegate_id)
            if record is not None and record.status in ABSENT:
                problems.add(f"{at}.raised_by.{j}", f"代表 {delegate_id} 缺席或请假，不能在活动中提出意见",
                             f"delegate {delegate_id} was absent and cannot have raised it")
            elif record is None and delegate_id not in state.invited:
                problems.add(f"{at}.raised_by.{j}", f"代表 {delegate_id} 不是本次活动的参加者",
                             f"delegate {delegate_id} did not take part in the activity")
        events.append(OpinionRaised(
            activity_id=state.activity_id, opinion_id=f"op-{state.opinions + i + 1}", year=state.year,
            project_id=project_id, category=opinion.category, content=opinion.content,
            raised_by=opinion.raised_by, group_id=state.group_ids[0] if state.group_ids else None,
            raised_on=state.day,
        ))
    return events


def _require_open(state: ActivityState, refs: References, now: datetime) -> None:
    require_scheduled(state)
    ensure_year_open(refs, state.year)
    require_started(state, now)


def record_outcome(cmd: RecordOutcome, state: ActivityState, refs: References, now: datetime) -> list[Event]:
    """Record the outcome once; each opinion in it is published as OpinionRaised."""
    _require_open(state, refs, now)
    if state.outcome_recorded:
        raise Conflict("活动成果已记录；补充意见请用 raise_opinions / outcome already recorded: add opinions instead",
                       {"activity_id": state.activity_id})
    problems = Problems()
    if state.kind == "research" and cmd.report is None:
        problems.add("report", "调研活动须提交调研报告", "a research activity needs its report")
    if state.kind != "research" and cmd.report is not None:
        problems.add("report", "只有调研活动有调研报告", "only research activities carry a report")
    if state.kind == "contribution" and cmd.contribution is None:
        problems.add("contribution", "奉献助推活动须记录协助和解决的事项",
                     "a contribution activity records what it helped with or resolved")
    if state.kind != "contribution" and cmd.contribution is not None:
        problems.add("contribution", "只有奉献助推活动记录助推成效", "only contribution activities record this")
    opinions = _opinions(problems, state, cmd.opinions, "opinions")
    problems.raise_if_any("活动成果有误", "invalid outcome")
    outcome = OutcomeRecorded(activity_id=cmd.activity_id, year=state.year, kind=state.kind, minutes=cmd.minutes,
                              findings=cmd.findings, report=cmd.report, contribution=cmd.contribution,
                              attachments=cmd.attachments)
    return [outcome, *opinions]


def raise_opinions(cmd: RaiseOpinions, state: ActivityState, refs: References, now: datetime) -> list[OpinionRaised]:
    """Add opinions raised at the activity, numbered after the earlier ones."""
    _require_open(state, refs, now)
    problems = Problems()
    opinions = _opinions(problems, state, cmd.opinions, "opinions")
    problems.raise_if_any("意见建议有误", "invalid opinions")
    return opinions
