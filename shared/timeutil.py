"""Times: stored in UTC, business dates in the city's zone (Asia/Shanghai)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

CITY_TZ = ZoneInfo("Asia/Shanghai")


def local_date(moment: datetime) -> date:
    """The city's calendar date at an instant."""
    return moment.astimezone(CITY_TZ).date()


def start_of_day(day: date) -> datetime:
    """The instant a city calendar day begins (an aware datetime)."""
    return datetime.combine(day, time.min, tzinfo=CITY_TZ)
