"""Replies are encoded with orjson: the same JSON as the requests' encoder for every value a handler returns."""

from __future__ import annotations

import enum
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from pydantic import BaseModel

from shared.rpc import encode, encode_reply


class Colour(enum.Enum):
    RED = "red"


class Point(BaseModel):
    at: datetime
    name: str


@dataclass(frozen=True)
class Pair:
    a: int
    b: tuple[str, ...]


def test_a_reply_is_the_same_json_whatever_the_types():
    reply = {
        "ok": True, "day": date(2026, 1, 2), "utc": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "beijing": datetime(2026, 5, 1, tzinfo=timezone(timedelta(hours=8))), "id": uuid.uuid4(),
        "money": Decimal("1.50"), "set": {1}, "frozen": frozenset({"x"}), "tuple": (1, "二"), "enum": Colour.RED,
        2026: "an integer key", "float": 1.5, "none": None, "big": 2**40, "model": Point(at=datetime(2026, 1, 1,
        tzinfo=UTC), name="嘎洒镇"), "dataclass": Pair(1, ("a",)), "nested": [{"items": [{"percent": 45.5}]}],
    }
    assert json.loads(encode_reply(reply)) == json.loads(encode(reply))
    assert b'"2026-01-02T03:04:05Z"' in encode_reply(reply), "UTC as Z, as the contracts write it"
    assert "嘎洒镇".encode() in encode_reply(reply), "Chinese as UTF-8, not escaped"


def test_what_orjson_cannot_write_is_written_as_before():
    reply = {"ok": True, "huge": 2**80}
    assert json.loads(encode_reply(reply)) == {"ok": True, "huge": 2**80}


def test_a_request_keeps_refusable_non_finite_numbers():
    # A client's NaN must reach the service as the invalid JSON it is, not as null.
    assert encode({"percent": float("nan")}) == b'{"percent": NaN}'
