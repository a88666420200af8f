"""What a read model is: tables and the functions that apply events to them."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from shared.contracts.base import Event, EventEnvelope
from shared.eventstore.migrations import migrations_in

# An applier gets a connection whose `execute(sql, *args)` is queued and returns None (reads and the
# end of the batch send it; shared/pipeline.py): use `execute_now` for a status such as "UPDATE 0".
# Within a batch, each read model takes every event before the next model starts, so an applier
# reads only its own model's tables.
Apply = Callable[[asyncpg.Connection, EventEnvelope, Any], Awaitable[None]]

# Key of an applier that sees every event (it gets None for types it cannot decode).
ANY_EVENT = "*"

_SQL_DIR = Path(__file__).parent / "consumer_sql"
# Migrations a write service adds when it keeps its own copy of another service's events.
CONSUMER_MIGRATIONS = migrations_in("consumer", _SQL_DIR)
# The same bookkeeping tables, created fresh in every projection schema so they swap with the models.
CONSUMER_DDL = "".join(m.path.read_text() for m in CONSUMER_MIGRATIONS)


@dataclass
class ReadModel:
    """A named set of tables and the functions that apply events to them."""

    name: str
    ddl: str = ""  # unqualified CREATE TABLE statements (projection: run in whichever schema is built)
    appliers: dict[str, Apply] = field(default_factory=dict)

    def on(self, event_cls: type[Event]) -> Callable[[Apply], Apply]:
        """Decorator: apply events of this class to the model."""

        def register(fn: Apply) -> Apply:
            self.appliers[event_cls.type] = fn
            return fn

        return register

    def on_any(self, fn: Apply) -> Apply:
        """Decorator: apply every event to the model (timelines, audit); typed event or None."""
        self.appliers[ANY_EVENT] = fn
        return fn


def ddl_fingerprint(models: list[ReadModel]) -> str:
    """A hash of every table definition: when it changes, the projection rebuilds its read models."""
    text = CONSUMER_DDL + "".join(m.ddl for m in models)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
