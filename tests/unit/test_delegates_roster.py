"""Roster files: columns by Chinese or English header, CSV (UTF-8/GBK) and XLSX, one verdict per row."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.delegates.roster import canonical, duplicate_rows, read_roster, row_command
from shared.contracts.delegates import RosterRow
from shared.errors import ValidationFailed

DATA = Path(__file__).parents[1] / "data" / "delegates"
ROW = {"delegate_id": "d001", "name": "岩温香", "gender": "男", "ethnicity": "傣族", "level": "市",
       "constituency": "嘎洒镇", "term_start": "2022-01-10"}


def test_csv_rows_keep_their_spreadsheet_numbers_and_skip_blank_lines():
    roster = read_roster((DATA / "roster.csv").read_bytes(), "roster.csv")
    assert [r.row for r in roster.rows] == [2, 3, 4, 5, 6, 7, 9]
    assert roster.rows[0].fields["home_lat"] == "21.9612" and roster.rows[0].fields["constituency"] == "嘎洒镇"
    assert roster.ignored_columns == ["序号", "备注"]


def test_gbk_csv_from_excel_is_read():
    text = "代表编号,姓名,性别,民族,层级,选区,任期开始\nd001,岩温香,男,傣族,市,嘎洒镇,2022-01-10\n"
    roster = read_roster(text.encode("gb18030"), "名册.CSV")
    assert roster.rows[0].fields["name"] == "岩温香"


def test_xlsx_cells_become_text():
    rows = read_roster((DATA / "roster.xlsx").read_bytes(), "roster.xlsx").rows
    assert rows[0].fields["phone"] == "13988880001" and rows[0].fields["term_start"] == "2022-01-10"
    assert [r.row for r in rows] == [2, 3, 5]


def test_file_problems_refuse_the_whole_file():
    with pytest.raises(ValidationFailed) as info:
        read_roster("姓名,性别\n岩温,男\n".encode(), "a.csv")
    assert {d["field"] for d in info.value.details} == {"delegate_id", "ethnicity", "level", "constituency",
                                                         "term_start"}
    with pytest.raises(ValidationFailed):
        read_roster(b"x", "a.pdf")
    with pytest.raises(ValidationFailed):
        read_roster(b"not a zip", "a.xlsx")


@pytest.mark.parametrize(("level", "code"), [("市", "city"), ("市级", "city"), ("乡镇人大代表", "township"),
                                             ("州", "prefecture"), ("省级", "province"), ("全国", "national"),
                                             ("national", "national"), ("Township", "township")])
def test_levels_in_chinese_or_english(level, code):
    assert row_command({**ROW, "level": level}).level == code


@pytest.mark.parametrize("raw", ["2022-01-10", "2022/1/10", "2022.01.10", "2022年1月10日"])
def test_dates_as_offices_write_them(raw):
    assert row_command({**ROW, "term_start": raw}).term_start == date(2022, 1, 10)


def test_row_problems_are_reported_per_column():
    with pytest.raises(ValidationFailed) as info:
        row_command({**ROW, "name": None, "gender": "男性", "term_start": "10/01/2022", "home_lat": "22.1",
                     "work_township": "嘎洒镇", "work_lat": "北纬22度", "phone": "电话"})
    fields = {d["field"] for d in info.value.details}
    assert fields == {"name", "gender", "term_start", "home_township", "work_lat", "phone"}
    assert all(" / " in d["message"] for d in info.value.details)


def test_locations_from_columns():
    cmd = row_command({**ROW, "home_township": "嘎洒镇", "home_lat": "21.96", "home_lon": "100.76",
                       "work_township": "允景洪街道", "work_label": "市政府"})
    assert (cmd.home.township, cmd.home.lat, cmd.home.lon) == ("嘎洒镇", 21.96, 100.76)
    assert cmd.work.label == "市政府" and cmd.work.lat is None


def test_rows_keyed_by_headers_are_understood():
    assert canonical({"代表编号": "d1", "姓名 *": "岩温", "Level": "市", "备注": "x"}) == \
        {"delegate_id": "d1", "name": "岩温", "level": "市"}


def test_duplicate_ids_point_at_the_first_row():
    rows = [RosterRow(row=2, fields={"delegate_id": "d1"}), RosterRow(row=3, fields={"代表编号": "d2"}),
            RosterRow(row=4, fields={"代表编号": "d1"})]
    assert duplicate_rows(rows) == {4: 2}
