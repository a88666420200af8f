"""JetStream streams of Huimin, declared in one place and checked against the live server."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from shared.config import Settings
from shared.logging import get_logger
from shared.subjects import EVENTS_PREFIX, EVENTS_STREAM, INGEST_PREFIX, INGEST_STREAM

log = get_logger(__name__)


def stream_configs(settings: Settings) -> list[StreamConfig]:
    """The desired configuration of every stream."""
    common = dict(
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=0,  # kept: the projection rebuilds from the event stream
        # Explicit, not the server default of 2 minutes (REFERENCE.md: outbox relay).
        duplicate_window=settings.events_duplicate_window_s,
        num_replicas=settings.stream_replicas,
    )
    return [
        StreamConfig(name=EVENTS_STREAM, subjects=[f"{EVENTS_PREFIX}.>"], description="Huimin domain events", **common),
        StreamConfig(
            name=INGEST_STREAM,
            subjects=[f"{INGEST_PREFIX}.>"],
            description="Department input and its results (kept: nothing a department sends is lost)",
            **common,
        ),
    ]


async def ensure_streams(js: JetStreamContext, settings: Settings) -> None:
    """Create missing streams; bring an existing stream's subjects and duplicate window in line."""
    for desired in stream_configs(settings):
        try:
            live = (await js.stream_info(desired.name)).config
        except NotFoundError:
            await js.add_stream(desired)
            log.info("stream created", stream=desired.name)
            continue
        if (set(live.subjects or []) != set(desired.subjects or []) or live.duplicate_window != desired.duplicate_window
                or (live.num_replicas or 1) != desired.num_replicas):
            log.warning(
                "stream config differs from the declared one; updating",
                stream=desired.name,
                live_subjects=live.subjects,
                live_duplicate_window=live.duplicate_window,
                live_replicas=live.num_replicas,
            )
            await js.update_stream(desired)
