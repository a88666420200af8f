"""Building blocks of the projects service's rules: coded problems, refusals and business-date checks.

Every refusal carries details `[{"field", "code", "message"}]`: `code` is a stable, machine-readable
reason (listed in docs/projects.md), `message` is "中文 / English".
"""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.errors import HuiminError
from shared.problems import Problems  # noqa: F401 (re-exported for the rules modules)
from shared.problems import problem as field_problem


def problem(code: str, field: str | None, zh: str, en: str) -> dict[str, Any]:
    """One coded problem of a command."""
    return field_problem(field, zh, en, code=code)


def refuse(error: type[HuiminError], code: str, zh: str, en: str, field: str | None = None) -> HuiminError:
    """An error with one coded problem, ready to raise."""
    return error(f"{zh} / {en}", [problem(code, field, zh, en)])


def check_day(p: Problems, field: str, day: date, *, year: int, today: date,
              earliest: tuple[date, str, str, str] | None = None) -> None:
    """A business date must not be in the future, must lie in its year and not before `earliest`.

    `earliest` is (date, code, 中文, English) naming what the date may not precede.
    """
    if day > today:
        p.add(field, f"日期 {day} 在将来", f"date {day} is in the future", code="date_in_future")
    if day.year != year:
        p.add(field, f"日期 {day} 不在 {year} 年度内", f"date {day} is outside the year {year}",
              code="date_outside_year")
    if earliest is not None and day < earliest[0]:
        limit, code, zh, en = earliest
        p.add(field, f"日期 {day} 早于{zh}（{limit}）", f"date {day} is before {en} ({limit})", code=code)
