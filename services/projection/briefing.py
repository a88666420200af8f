"""Briefings (简报): the period of a briefing and its rendering as Chinese Markdown and HTML (pure)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from html import escape
from typing import Any

from shared.errors import ValidationFailed

KIND_LABELS = {
    "mobilisation": "动员会", "inspection": "视察", "research": "调研献策", "contribution": "奉献助推",
    "voter_visit": "走访选民", "department_visit": "走访职能部门", "summary": "总结会",
}
STATUS_LABELS = {"green": "绿灯（正常）", "amber": "黄灯（预警）", "red": "红灯（滞后）", "grey": "已取消"}


def _bad(field: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(f"{zh} / {en}", [{"field": field, "message": f"{zh} / {en}"}])


def period_of(year: int, start: date | None, end: date | None, period: str | None,
              day: date | None) -> tuple[date, date]:
    """The first and last day of a briefing: given directly, or the week (Mon–Sun) or month around `day`."""
    if period is not None:
        if day is None:
            raise _bad("day", "按周或按月生成简报须给出日期", "a week or month briefing needs a day")
        if period == "week":
            start = day - timedelta(days=day.weekday())
            end = start + timedelta(days=6)
        else:
            start = day.replace(day=1)
            end = day.replace(day=calendar.monthrange(day.year, day.month)[1])
    if start is None or end is None:
        raise _bad("start", "须给出起止日期，或按周/按月及日期", "give start and end, or a period and a day")
    if end < start:
        raise _bad("end", "结束日期早于开始日期", "end is before start")
    if start.year != year and end.year != year:
        raise _bad("year", f"期间不在 {year} 年内", f"the period is not in {year}")
    return start, end


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:g}%"


CONTENT_CHARS = 200  # an opinion's text in the briefing's table; the ledger has it whole


def _total(b: dict[str, Any], key: str) -> int:
    # How many the section has in all; its list may show only the first of them.
    return (b.get("totals") or {}).get(key, len(b[key]))


def _listed_note(b: dict[str, Any], *keys: str) -> list[str]:
    shown, total = sum(len(b[k]) for k in keys), sum(_total(b, k) for k in keys)
    return [f"（下表列出其中 {shown} 项，全部见相关台账。）"] if shown < total else []


def _content(text: str) -> str:
    return text if len(text) <= CONTENT_CHARS else text[:CONTENT_CHARS] + "…"


def sections(b: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """Each section of a briefing: heading, lead sentences, and table rows (first row is the header).

    The counts are of everything in the period (`totals`); the tables show the rows the briefing lists.
    """
    a = b["attendance"]
    held = "、".join(f"{KIND_LABELS.get(k, k)} {n} 次" for k, n in b["activities_by_kind"].items() if n) or "无"
    rate = "—" if a["rate"] is None else f"{a['rate']:g}%"
    return [
        ("一、活动开展", [f"本期共开展活动 {_total(b, 'activities')} 次：{held}。", *_listed_note(b, "activities")],
         [["日期", "类型", "活动"]] + [[str(x["starts_on"]), KIND_LABELS.get(x["kind"], x["kind"]), x["title"]]
                                       for x in b["activities"]]),
        ("二、项目进展", [f"本期有 {_total(b, 'progress')} 个项目报送进展。", *_listed_note(b, "progress")],
         [["编号", "项目", "期初进度", "期末进度"]] + [[x["code"], x["title"], _pct(x["before"]), _pct(x["after"])]
                                                     for x in b["progress"]]),
        ("三、预警项目", [f"本期转为黄灯或红灯的项目 {_total(b, 'turned')} 个。", *_listed_note(b, "turned")],
         [["编号", "项目", "期初", "期末", "原因"]] + [
             [x["code"], x["title"], STATUS_LABELS[x["from"]], STATUS_LABELS[x["to"]], "；".join(x["reasons"])]
             for x in b["turned"]]),
        ("四、意见建议", [f"本期新收到意见建议 {_total(b, 'feedback_new')} 件，"
                      f"逾期未办复 {_total(b, 'feedback_overdue')} 件。",
                      *_listed_note(b, "feedback_new", "feedback_overdue")],
         [["编号", "类别", "内容", "日期", "情况"]]
         + [[x["feedback_id"], x["category"], _content(x["content"]), str(x["raised_on"]), "新收到"]
            for x in b["feedback_new"]]
         + [[x["feedback_id"], x["category"], _content(x["content"]), str(x["due_on"]),
             f"逾期未办复（{'、'.join(x['departments']) or '—'}）"] for x in b["feedback_overdue"]]),
        ("五、代表出席", [f"应出席登记 {a['total']} 人次，出席 {a['present']} 人次，请假 {a['excused']} 人次，"
                      f"缺席 {a['absent']} 人次，出席率 {rate}。"], []),
    ]


def title(b: dict[str, Any]) -> str:
    """The briefing's title."""
    return f"景洪市人大常委会惠民实事监督简报（{b['start']} 至 {b['end']}）"


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def to_markdown(b: dict[str, Any]) -> str:
    """The briefing as Markdown."""
    out = [f"# {title(b)}", ""]
    for heading, leads, rows in sections(b):
        out += [f"## {heading}", "", *leads, ""]
        if len(rows) > 1:
            out.append("| " + " | ".join(rows[0]) + " |")
            out.append("|" + "---|" * len(rows[0]))
            out += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows[1:]]
            out.append("")
    return "\n".join(out)


def to_html(b: dict[str, Any]) -> str:
    """The briefing as an HTML fragment; every value is escaped."""
    out = [f"<article class=\"briefing\" lang=\"zh-CN\"><h1>{escape(title(b))}</h1>"]
    for heading, leads, rows in sections(b):
        out.append(f"<section><h2>{escape(heading)}</h2>")
        out += [f"<p>{escape(p)}</p>" for p in leads]
        if len(rows) > 1:
            head = "".join(f"<th>{escape(h)}</th>" for h in rows[0])
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>")
            out += ["<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows[1:]]
            out.append("</tbody></table>")
        out.append("</section>")
    out.append("</article>")
    return "\n".join(out)
