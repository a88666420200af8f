"""Events of the activities service that other services rely on.

The activities service adds its commands and further events here; OpinionRaised is the
contract the feedback service consumes: keep its fields (add new ones with defaults).
"""

from __future__ import annotations

from datetime import date

from shared.contracts.base import Event, registry

SERVICE = "activities"


def activity_stream_id(activity_id: str) -> str:
    """The event stream of an activity."""
    return f"activity-{activity_id}"


@registry.register
class OpinionRaised(Event):
    """An opinion or suggestion raised at an activity, attributed to the delegates who raised it.

    The feedback service turns each into a feedback item; the activities service never calls it.
    """

    type = "OpinionRaised"

    activity_id: str
    opinion_id: str  # unique within the activity; (activity_id, opinion_id) identifies it
    year: int
    project_id: str | None = None
    category: str
    content: str
    raised_by: list[str]  # delegate ids
    group_id: str | None = None
    raised_on: date
