"""Applies a batch of event messages to read models in one transaction, idempotently and in order."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import asyncpg
import pydantic

from services.projection.readmodel import ReadModel
from shared.contracts.base import EventEnvelope, EventRegistry
from shared.db import TRANSIENT_DB_ERRORS
from shared.logging import get_logger

log = get_logger(__name__)


class Outcome(Enum):
    """What became of one message: ack all but GAP, which waits for the missing version."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    DEAD = "dead"
    GAP = "gap"


@dataclass(frozen=True)
class Delivery:
    """One event message as delivered: raw bytes, subject, stream sequence."""

    data: bytes
    subject: str
    seq: int | None


class BatchApplier:
    """Applies deliveries to every read model; the caller owns the transaction."""

    def __init__(self, models: list[ReadModel], registry: EventRegistry) -> None:
        self.models, self.registry = models, registry

    async def apply(self, conn: asyncpg.Connection, batch: list[Delivery]) -> list[Outcome]:
        """Apply a batch inside the caller's transaction; transient database errors propagate."""
        versions: dict[str, int] = {}
        return [await self._apply_one(conn, d, versions) for d in batch]

    async def _apply_one(self, conn: asyncpg.Connection, d: Delivery, versions: dict[str, int]) -> Outcome:
        try:
            env = EventEnvelope.model_validate_json(d.data)
        except pydantic.ValidationError as exc:
            await self._dead_letter(conn, d, None, f"unparseable event: {exc}")
            return Outcome.DEAD
        current = versions.get(env.stream_id)
        if current is None:
            current = await conn.fetchval("SELECT version FROM stream_versions WHERE stream_id = $1", env.stream_id) or 0
        if env.version <= current:
            return Outcome.DUPLICATE
        if env.version > current + 1:
            log.warning("event version gap; waiting for the missing event", stream_id=env.stream_id,
                        version=env.version, applied=current)
            return Outcome.GAP
        outcome = Outcome.APPLIED
        appliers = [m.appliers[env.type] for m in self.models if env.type in m.appliers]
        if appliers:
            try:
                async with conn.transaction():  # a savepoint: a poison event undoes only itself
                    event = self.registry.decode_envelope(env)
                    for apply in appliers:
                        await apply(conn, env, event)
            except TRANSIENT_DB_ERRORS:
                raise
            except Exception as exc:  # noqa: BLE001 (a poison event must not block the rest)
                log.error("poison event dead-lettered", event_id=str(env.event_id), stream_id=env.stream_id,
                          type=env.type, error=repr(exc))
                await self._dead_letter(conn, d, env, repr(exc))
                outcome = Outcome.DEAD
        # A dead-lettered event still counts as passed, so the stream's later events go on.
        await conn.execute(
            """INSERT INTO stream_versions (stream_id, version) VALUES ($1, $2)
               ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version""",
            env.stream_id, env.version,
        )
        versions[env.stream_id] = env.version
        return outcome

    @staticmethod
    async def _dead_letter(conn: asyncpg.Connection, d: Delivery, env: EventEnvelope | None, error: str) -> None:
        await conn.execute(
            """INSERT INTO dead_letters (event_id, stream_seq, subject, error, payload) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT DO NOTHING""",
            env.event_id if env else None, d.seq, d.subject, error, d.data.decode(errors="replace"),
        )
