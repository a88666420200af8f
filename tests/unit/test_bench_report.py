"""The bench's target rows: the query bound is checked on the issue's named views and on every view."""

from __future__ import annotations

from shared.bench.report import targets, worst_query

RESULT = {
    "baselines": {"pg_round_trip": {"p50_ms": 0.1}},
    "queries": {
        "huimin.qry.board.city": {"available": True, "named": "city board", "p99_ms": 8.0},
        "huimin.qry.record.get": {"available": True, "named": "performance record", "p99_ms": 9.0},
        "huimin.qry.timeline.get": {"available": True, "named": None, "p99_ms": 25.0},
        "huimin.qry.briefing.generate": {"available": False, "reason": "not filled"},
    },
}


def test_the_worst_query_of_the_named_views_and_of_every_view():
    assert worst_query(RESULT) == ("huimin.qry.timeline.get", 25.0)
    assert worst_query(RESULT, named_only=True) == ("huimin.qry.record.get", 9.0)
    assert worst_query({"queries": {}}, named_only=True) == (None, None)


def test_query_targets_report_both_rows_with_their_ratio():
    rows = {t["target"]: t for t in targets(RESULT) if t["target"].startswith("query p99")}
    named = rows["query p99 ≤ 100× a PostgreSQL round trip, the named views (worst: huimin.qry.record.get)"]
    every = rows["query p99 ≤ 100× a PostgreSQL round trip, every view (worst: huimin.qry.timeline.get)"]
    assert (round(named["value"]), named["met"]) == (90, True)
    assert (round(every["value"]), every["met"]) == (250, False)
