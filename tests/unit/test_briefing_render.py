"""Briefing rendering and periods: pure, no I/O."""

from __future__ import annotations

from datetime import date

import pytest

from services.projection.briefing import period_of, to_html, to_markdown
from shared.errors import ValidationFailed


def briefing(**over):
    b = {
        "year": 2026, "start": date(2026, 5, 1), "end": date(2026, 5, 31),
        "activities": [{"activity_id": "a1", "kind": "inspection", "title": "视察<老旧>小区",
                        "starts_on": date(2026, 5, 10)}],
        "activities_by_kind": {"inspection": 1, "research": 0},
        "progress": [{"project_id": "p1", "code": "01", "title": "老旧小区改造", "before": 22.0, "after": 30.0},
                     {"project_id": "p2", "code": "02", "title": "新项目", "before": None, "after": 5.0}],
        "turned": [{"project_id": "p1", "code": "01", "title": "老旧小区改造", "from": "green", "to": "red",
                    "reasons": ["进度落后", "问题未解决"]}],
        "feedback_new": [{"feedback_id": "f1", "category": "施工", "content": "夜间施工 | 扰民 & <噪音>",
                          "raised_on": date(2026, 5, 10)}],
        "feedback_overdue": [{"feedback_id": "f0", "category": "质量", "content": "排水", "due_on": date(2026, 5, 20),
                              "departments": ["jhzjj"]}],
        "attendance": {"present": 2, "absent": 0, "excused": 1, "total": 3, "rate": 66.7},
    }
    return b | over


def test_markdown_has_every_section_in_chinese():
    md = to_markdown(briefing())
    assert md.startswith("# 景洪市人大常委会惠民实事监督简报（2026-05-01 至 2026-05-31）")
    for heading in ("一、活动开展", "二、项目进展", "三、预警项目", "四、意见建议", "五、代表出席"):
        assert f"## {heading}" in md
    assert "本期共开展活动 1 次：视察 1 次。" in md
    assert "| 01 | 老旧小区改造 | 22% | 30% |" in md and "| 02 | 新项目 | — | 5% |" in md
    assert "| 01 | 老旧小区改造 | 绿灯（正常） | 红灯（滞后） | 进度落后；问题未解决 |" in md
    assert "夜间施工 \\| 扰民" in md, "a pipe inside a cell must not break the table"
    assert "逾期未办复（jhzjj）" in md and "出席率 66.7%" in md


def test_html_escapes_every_value():
    html = to_html(briefing())
    assert "<h2>一、活动开展</h2>" in html
    assert "视察&lt;老旧&gt;小区" in html and "&lt;噪音&gt;" in html and "&amp;" in html
    assert "<老旧>" not in html and "<噪音>" not in html


def test_empty_period_says_so():
    md = to_markdown(briefing(activities=[], activities_by_kind={}, progress=[], turned=[], feedback_new=[],
                              feedback_overdue=[], attendance={"present": 0, "absent": 0, "excused": 0, "total": 0,
                                                               "rate": None}))
    assert "本期共开展活动 0 次：无。" in md and "出席率 —" in md and "|---|" not in md


def test_periods():
    assert period_of(2026, None, None, "week", date(2026, 5, 14)) == (date(2026, 5, 11), date(2026, 5, 17))
    assert period_of(2026, None, None, "month", date(2026, 2, 14)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert period_of(2026, date(2026, 3, 1), date(2026, 3, 9), None, None) == (date(2026, 3, 1), date(2026, 3, 9))


@pytest.mark.parametrize("args, field", [
    ((None, None, "week", None), "day"),
    ((None, None, None, None), "start"),
    ((date(2026, 3, 9), date(2026, 3, 1), None, None), "end"),
    ((date(2025, 3, 1), date(2025, 3, 9), None, None), "year"),
])
def test_bad_periods_are_refused(args, field):
    with pytest.raises(ValidationFailed) as err:
        period_of(2026, *args)
    assert err.value.details[0]["field"] == field and " / " in err.value.message


def test_a_long_opinion_is_cut_in_the_table():
    from services.projection.briefing import CONTENT_CHARS
    long = "长" * (CONTENT_CHARS + 50)
    b = briefing(feedback_new=[{"feedback_id": "f9", "category": "进度", "content": long, "raised_on": "2026-06-02"}])
    md = to_markdown(b)
    assert "长" * CONTENT_CHARS + "…" in md and long not in md
