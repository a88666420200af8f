"""The reply a projects command gives (commands run with shared.handling.execute_retrying)."""

from __future__ import annotations

from typing import Any

from shared.contracts.base import EventEnvelope


def reply(stream_id: str, events: list[EventEnvelope]) -> dict[str, Any]:
    """What a successful command answers: the stream, its new version and what was recorded."""
    return {"stream_id": stream_id, "event_ids": [str(e.event_id) for e in events], "version": events[-1].version,
            "recorded": [{"type": e.type, **e.body} for e in events]}
