"""The event store: the only code that touches event tables."""

from shared.eventstore.store import Checkpoint, EventStore, NewEvent, VersionConflict

__all__ = ["Checkpoint", "EventStore", "NewEvent", "VersionConflict"]
