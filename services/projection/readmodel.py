"""What a read model is: tables (created fresh, so rebuilds can build a copy) and event appliers."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from shared.contracts.base import Event, EventEnvelope

Apply = Callable[[asyncpg.Connection, EventEnvelope, Any], Awaitable[None]]


@dataclass
class ReadModel:
    """A named set of tables and the functions that apply events to them."""

    name: str
    ddl: str  # unqualified CREATE TABLE statements; run in whichever schema is being built
    appliers: dict[str, Apply] = field(default_factory=dict)

    def on(self, event_cls: type[Event]) -> Callable[[Apply], Apply]:
        """Decorator: apply events of this class to the model."""

        def register(fn: Apply) -> Apply:
            self.appliers[event_cls.type] = fn
            return fn

        return register


# Tables the runner itself keeps in every read-model schema, so they swap with the models.
RUNNER_DDL = """
CREATE TABLE stream_versions (stream_id text PRIMARY KEY, version integer NOT NULL);
CREATE TABLE dead_letters (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id uuid UNIQUE,
    stream_seq bigint UNIQUE,  -- a redelivered unparseable message is kept once
    subject text NOT NULL,
    error text NOT NULL,
    payload text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE model_meta (key text PRIMARY KEY, value text NOT NULL);
"""


def ddl_fingerprint(models: list[ReadModel]) -> str:
    """A hash of every table definition: when it changes, the read models are rebuilt."""
    text = RUNNER_DDL + "".join(m.ddl for m in models)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
