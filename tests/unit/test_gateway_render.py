"""Rendering view answers as HTML: attachments become download links, photos thumbnails."""

from __future__ import annotations

import re

from services.gateway.i18n import label
from services.gateway.web.render import human_size, record, render, table

PHOTO = {"key": "a" * 64, "size": 12_650, "content_type": "image/jpeg", "sha256": "a" * 64, "filename": "现场照片.jpg"}
PDF = {"key": "b" * 64, "size": 2_202_010, "content_type": "application/pdf", "sha256": "b" * 64,
       "filename": "验收报告<1>.pdf"}


def test_attachments_of_a_record_are_links_with_name_and_size_and_photos_thumbnails():
    html = str(record({"title": "视察老旧小区", "attachments": [PHOTO, PDF]}, "zh"))
    assert "<h4>附件</h4>" in html
    assert html.count(f'href="/api/v1/attachments/{"a" * 64}"') == 2  # the thumbnail and the name
    assert f'<img class="thumb" src="/api/v1/attachments/{"a" * 64}"' in html
    assert html.count("<img") == 1, "a PDF gets no thumbnail"
    assert f'href="/api/v1/attachments/{"b" * 64}"' in html
    assert "现场照片.jpg" in html and "12.4 KB" in html and "2.1 MB" in html
    assert "验收报告&lt;1&gt;.pdf" in html and "<1>" not in html
    assert "sha256" not in html and "content_type" not in html


def test_attachments_anywhere_in_an_answer_render_the_same_way():
    logs = [{"log_id": "l1", "progress": "路基完成", "attachments": [PHOTO]}, {"log_id": "l2", "attachments": []}]
    html = str(table(logs, "zh"))
    assert "<th>附件</th>" in html and html.count('<ul class="attachments">') == 1
    nested = str(render({"project": {"reports": [{"percent": 40.0, "attachments": [PDF]}]}}, "zh"))
    assert f'/api/v1/attachments/{"b" * 64}' in nested


def test_a_key_is_quoted_in_the_link():
    html = str(render({"attachments": [{"key": "../x y", "filename": "f"}]}, "zh"))
    assert 'href="/api/v1/attachments/..%2Fx%20y"' in html and "<img" not in html


def test_an_attachments_list_of_something_else_stays_a_table():
    html = str(render({"attachments": [{"name": "无键"}]}, "zh"))
    assert "/api/v1/attachments" not in html and re.search(r"<table", html)


def test_human_sizes():
    assert [human_size(n) for n in (0, 512, 1536, 5 * 1024 * 1024)] == ["0 B", "512 B", "1.5 KB", "5.0 MB"]
    assert human_size(None) == "" and human_size(True) == ""


def test_a_views_own_label_of_a_value_shown_translated_is_not_repeated():
    html = str(table([{"status": "forwarded", "status_label": "已交办", "label": "曼听社区"}], "zh"))
    assert html.count("<th>状态</th>") == 1 and "已转办" in html and "已交办" not in html and "曼听社区" in html


def test_names_by_id_link_each_id_to_its_page():
    html = str(record({"department_names": {"jhjyj": "景洪市教育体育局"}, "delegate_names": {"d101": "岩温"}}, "zh"))
    assert '<dt><a href="/departments/jhjyj">jhjyj</a></dt><dd>景洪市教育体育局</dd>' in html
    assert '<a href="/delegates/d101">d101</a>' in html and "<h4>单位名称</h4>" in html


def test_a_nested_column_is_labelled_part_by_part():
    assert (label("work.lat", "zh"), label("work.lat", "en")) == ("工作地·纬度", "Workplace·Latitude")
