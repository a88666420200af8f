"""Reading department and vote-result files: formats, headers, cells, row numbers (no I/O but the test files)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.projects.imports import (
    DEPARTMENT_COLUMNS, MAX_ROWS, PROJECT_COLUMNS, RowError, department_command, project_command, read_table, records,
)
from shared.errors import ValidationFailed

DATA = Path(__file__).resolve().parents[1] / "data" / "projects"
UNITS = {"市住建局": "jhzjj", "jhzjj": "jhzjj", "市财政局": "jhczj", "jhyjh": "jhyjh", "jhslj": "jhslj",
         "嘎洒镇政府": "jhgsz", "景洪市教育体育局": "jhjyj", "勐龙镇政府": "jhmlz"}


def rows_of(name: str) -> list[tuple[int, dict]]:
    return list(records(read_table(name, (DATA / name).read_bytes()), PROJECT_COLUMNS))


def command(cells: dict):
    return project_command(cells, year=2026, default_voted_on=date(2026, 1, 20), unit_code=UNITS.get)


def test_csv_and_xlsx_of_the_same_vote_results_give_the_same_commands():
    from_csv = [command(c) for _, c in rows_of("vote_results_2026.csv")]
    from_xlsx = [command(c) for _, c in rows_of("vote_results_2026.xlsx")]
    assert from_csv == from_xlsx and [c.code for c in from_csv] == ["01", "02", "03"]
    first = from_csv[0]
    assert (first.lead_unit, first.co_units, first.budget_wan) == ("jhzjj", ["jhczj", "jhyjh"], 3200)
    assert first.locations[0].lat == 22.009 and first.locations[0].township == "允景洪街道"
    assert from_csv[2].voted_on == date(2026, 1, 20), "an empty vote date is the session's end"
    assert from_csv[2].co_units == ["jhzjj", "jhmlz"], "units by full name, short name or code"


def test_row_numbers_are_the_spreadsheets_and_empty_rows_are_skipped():
    assert [n for n, _ in rows_of("vote_results_bad_rows.csv")] == [2, 3, 4, 5, 6, 8, 9]


def test_bad_cells_are_reported_with_their_field():
    rows = dict(rows_of("vote_results_bad_rows.csv"))
    with pytest.raises(RowError) as info:
        command(rows[3])
    assert [(p["field"], p["code"]) for p in info.value.problems] == [("votes_for", "not_a_number")]
    with pytest.raises(RowError) as info:
        command(rows[4])
    assert info.value.problems[0]["code"] == "unknown_department" and "市文旅局" in info.value.problems[0]["message"]
    with pytest.raises(RowError) as info:
        command(rows[6])
    assert [p["code"] for p in info.value.problems] == ["coordinates_count"]


def test_gbk_csv_from_excel_is_read():
    text = "编号,项目名称,类别,牵头单位,赞成,反对,弃权\n09,茶叶冷链,产业发展,市住建局,250,1,1\n"
    (number, cells), = records(read_table("结果.csv", text.encode("gb18030")), PROJECT_COLUMNS)
    assert number == 2 and command(cells).title == "茶叶冷链"


def test_dates_and_numbers_in_the_usual_spellings():
    base = {"code": "09", "title": "茶叶冷链", "category": "产业发展", "lead_unit": "市住建局", "votes_for": "1,250",
            "votes_against": 3.0, "votes_abstain": "0", "budget_wan": "1,300.5"}
    for spelling in ("2026-01-19", "2026/1/19", "2026.1.19", "2026年1月19日"):
        cmd = command({**base, "voted_on": spelling})
        assert (cmd.voted_on, cmd.votes_for, cmd.votes_against, cmd.budget_wan) == (date(2026, 1, 19), 1250, 3, 1300.5)
    with pytest.raises(RowError) as info:
        command({**base, "voted_on": "一月十九日"})
    assert info.value.problems[0]["code"] == "not_a_date"


def test_a_missing_required_column_refuses_the_file():
    table = [["编号", "项目名称", "类别", "赞成", "反对", "弃权"], ["01", "x", "y", 1, 0, 0]]
    with pytest.raises(ValidationFailed) as info:
        list(records(table, PROJECT_COLUMNS))
    assert info.value.details[0]["code"] == "missing_column" and "牵头单位" in info.value.message


def test_other_formats_and_oversized_files_are_refused():
    with pytest.raises(ValidationFailed, match="csv"):
        read_table("结果.xls", b"...")
    with pytest.raises(ValidationFailed) as info:
        read_table("结果.xlsx", b"not a zip file")
    assert info.value.details[0]["code"] == "unreadable_file"
    table = [["代码", "名称", "简称"]] + [["d", "n", "s"]] * (MAX_ROWS + 1)
    with pytest.raises(ValidationFailed, match=str(MAX_ROWS)):
        list(records(table, DEPARTMENT_COLUMNS))


def test_department_rows():
    table = read_table("departments.csv", (DATA / "departments.csv").read_bytes())
    commands = [department_command(cells) for _, cells in records(table, DEPARTMENT_COLUMNS)]
    assert commands[0].code == "jhzjj" and commands[0].full_name == "景洪市住房和城乡建设局" and len(commands) == 7
    with pytest.raises(RowError) as info:
        department_command({"code": "住建局", "full_name": "景洪市住房和城乡建设局", "short_name": "市住建局"})
    assert info.value.problems[0]["field"] == "code"
