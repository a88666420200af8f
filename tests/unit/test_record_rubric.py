"""The record view's rubric as the SQL its score trigger adds: only the record's items, finite weights."""

from __future__ import annotations

import pytest

from services.projection.views.record import ITEM_LABELS, _weights


def test_weights_name_each_weighted_item_of_the_record():
    sql = _weights({"present": 2.0, "absent": -1.0, "excused": 0.0, "not_an_item": 5.0})
    assert sql == "CASE $ITEM WHEN 'present' THEN 2.0 WHEN 'absent' THEN -1.0 ELSE 0 END"


def test_a_changed_weight_changes_the_sql():
    """The SQL is part of the view's DDL: a changed rubric must change it, so the read models are rebuilt."""
    base = {item: 1.0 for item in ITEM_LABELS}
    assert _weights(base) != _weights(base | {"opinion": 1.5})


def test_no_weights_scores_nothing():
    assert _weights({}) == "0"


@pytest.mark.parametrize("weight", [float("nan"), float("inf")])
def test_a_weight_that_is_not_a_number_is_refused(weight):
    with pytest.raises(ValueError, match="present"):
        _weights({"present": weight})
