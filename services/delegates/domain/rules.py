"""Checks shared by the delegates deciders: dates, ethnicities (field problems: shared.problems)."""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.problems import Problems  # noqa: F401 re-exported: the deciders take it from here
from shared.timeutil import local_date

# The 56 ethnic groups recognised in China (民族), as a roster writes them.
ETHNICITIES = frozenset(
    "汉族 蒙古族 回族 藏族 维吾尔族 苗族 彝族 壮族 布依族 朝鲜族 满族 侗族 瑶族 白族 土家族 哈尼族 哈萨克族 傣族 "
    "黎族 傈僳族 佤族 畲族 高山族 拉祜族 水族 东乡族 纳西族 景颇族 柯尔克孜族 土族 达斡尔族 仫佬族 羌族 布朗族 "
    "撒拉族 毛南族 仡佬族 锡伯族 阿昌族 普米族 塔吉克族 怒族 乌孜别克族 俄罗斯族 鄂温克族 德昂族 保安族 裕固族 "
    "京族 塔塔尔族 独龙族 鄂伦春族 赫哲族 门巴族 珞巴族 基诺族".split()
)


def check_ethnicity(problems: Problems, value: str) -> None:
    """Note an ethnicity that is not one of the 56 (a typo in a roster, usually)."""
    if value not in ETHNICITIES:
        problems.add("ethnicity", f"未知民族“{value}”，请填写如“傣族”", f"unknown ethnicity {value!r}, e.g. 傣族")


def check_not_future(problems: Problems, field_: str, day: date, now_day: date) -> None:
    """Note a business date after today (Invariant 7: it records something that happened)."""
    if day > now_day:
        problems.add(field_, "日期不能在将来", "the date is in the future")


def today(now: Any) -> date:
    """The city's calendar date of a decision time."""
    return local_date(now)
