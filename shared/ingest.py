"""Department input over JetStream `HUIMIN_INGEST`: validate, record, answer, dead-letter.

A department publishes JSON on `huimin.ingest.<dept_code>.<kind>`; every message carries its
own `message_id`. The owning service consumes it durably, one message at a time, and sends
a result on `huimin.ingest.result.<dept_code>`: accepted (with event ids), duplicate (the same
message_id was accepted before) or rejected (machine-readable reasons in Chinese and English).
Rejected and unparseable input is kept in `ingest_dead_letters`; a redelivered message is
answered from `ingest_log`, never recorded twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import nats.errors
import nats.js.errors
import pydantic
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import Field

from shared.config import Settings
from shared.contracts.base import Contract, EventEnvelope
from shared.db import TRANSIENT_DB_ERRORS
from shared.errors import HuiminError
from shared.eventstore.migrations import migrations_in
from shared.leader import leadership
from shared.logging import get_logger
from shared.metrics import CONSUMER_LAG, INGEST_MESSAGES
from shared.rpc import RequestContext, encode
from shared.subjects import INGEST_PREFIX, INGEST_STREAM, ingest_result_subject, ingest_subject

log = get_logger(__name__)

INGEST_MIGRATIONS = migrations_in("ingest", Path(__file__).parent / "ingest_sql")


_MESSAGE_ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,100}$"
_MESSAGE_ID = re.compile(_MESSAGE_ID_PATTERN)


class DepartmentMessage(Contract):
    """Base of every department message: the department's own id for it makes resending safe."""

    message_id: str = Field(pattern=_MESSAGE_ID_PATTERN,
                            description="发送方自定的消息编号；重发同一编号只记录一次")


@dataclass(frozen=True)
class IngestContext:
    """Where a department message came from."""

    dept_code: str
    kind: str
    stream_seq: int
    message_id: str
    received_at: datetime

    def request_context(self) -> RequestContext:
        """The same facts as a command's context: the department is the actor."""
        return RequestContext(actor=f"dept:{self.dept_code}", correlation_id=f"ingest-{self.stream_seq}",
                              received_at=self.received_at)


IngestHandler = Callable[[Any, IngestContext, asyncpg.Connection], Awaitable[list[EventEnvelope]]]


def reason(code: str, zh: str, en: str, field: str | None = None) -> dict[str, Any]:
    """One machine-readable reason of a rejection."""
    return {"code": code, "field": field, "zh": zh, "en": en}


def _split(message: str) -> tuple[str, str]:
    # Messages are written "中文 / English" throughout Huimin.
    zh, _, en = message.partition(" / ")
    return zh, en or zh


def reasons_of(exc: HuiminError) -> list[dict[str, Any]]:
    """The reasons a domain error gives, one per detail when details name fields."""
    zh, en = _split(exc.message)
    details = exc.details if isinstance(exc.details, list) else []
    # A detail may carry its own finer code (e.g. "percent_decreased"); else the error's code.
    per_field = [
        reason(str(d.get("code") or exc.code), *_split(str(d.get("message", exc.message))), field=d.get("field"))
        for d in details if isinstance(d, dict) and "field" in d
    ]
    return per_field or [reason(str(exc.code), zh, en)]


def validation_reasons(exc: pydantic.ValidationError) -> list[dict[str, Any]]:
    """One reason per invalid field of a message."""
    return [
        reason("validation", f"字段“{'.'.join(map(str, e['loc'])) or '(消息)'}”不符合要求", e["msg"],
               field=".".join(map(str, e["loc"])) or None)
        for e in exc.errors(include_url=False, include_input=False)
    ]


def _without_nul(value: Any) -> Any:
    """The same data with every U+0000 in its strings written as the visible escape \\u0000."""
    if isinstance(value, str):
        return value.replace("\x00", "\\u0000")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


class IngestConsumer:
    """Consumes some kinds of department input for one service; one active instance."""

    def __init__(self, *, service: str, schema: str, settings: Settings) -> None:
        self.service, self.schema, self.settings = service, schema, settings
        self.pool: asyncpg.Pool | None = None
        self.js: JetStreamContext | None = None
        self.kinds: dict[str, tuple[type[DepartmentMessage], IngestHandler]] = {}
        self.durable = f"ingest-{service}"
        self.processed = 0
        self.active = False

    def kind(self, kind: str, model: type[DepartmentMessage]) -> Callable[[IngestHandler], IngestHandler]:
        """Decorator: handle messages of one kind, validated as `model`."""

        def register(handler: IngestHandler) -> IngestHandler:
            self.kinds[kind] = (model, handler)
            return handler

        return register

    def bind(self, pool: asyncpg.Pool, js: JetStreamContext) -> None:
        """Give the consumer its connections (they exist once the service has started)."""
        self.pool, self.js = pool, js

    @property
    def db(self) -> asyncpg.Pool:
        """The service's pool (after bind)."""
        assert self.pool is not None, "IngestConsumer.bind() first"
        return self.pool

    @property
    def jetstream(self) -> JetStreamContext:
        """The JetStream context (after bind)."""
        assert self.js is not None, "IngestConsumer.bind() first"
        return self.js

    def consumer_config(self) -> ConsumerConfig:
        """The durable consumer: every department, the kinds this service owns."""
        return ConsumerConfig(
            durable_name=self.durable, ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
            filter_subjects=[ingest_subject("*", k) for k in sorted(self.kinds)],
            ack_wait=self.settings.consumer_ack_wait_s, max_deliver=-1,
        )

    async def run(self) -> None:
        """Consume until cancelled, starting over after any failure."""
        while True:
            try:
                assert self.settings.database_url
                async with leadership(self.settings, self.settings.database_url, self.schema, self.durable):
                    self.active = True
                    await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (a consumer must outlive any failure)
                log.warning("ingest consumer failed; restarting", error=repr(exc))
                await asyncio.sleep(self.settings.projection_nak_delay_s)
            finally:
                self.active = False

    async def _consume(self) -> None:
        desired = self.consumer_config()
        try:
            live = (await self.jetstream.consumer_info(INGEST_STREAM, self.durable)).config
            if sorted(live.filter_subjects or [live.filter_subject or ""]) != desired.filter_subjects:
                log.warning("ingest consumer config drifted; recreating", live=str(live))
                await self.jetstream.delete_consumer(INGEST_STREAM, self.durable)
                await self.jetstream.add_consumer(INGEST_STREAM, desired)
        except nats.js.errors.NotFoundError:
            await self.jetstream.add_consumer(INGEST_STREAM, desired)
        psub = await self.jetstream.pull_subscribe_bind(self.durable, stream=INGEST_STREAM)
        try:
            while True:
                try:
                    msgs = await psub.fetch(50, timeout=self.settings.projection_fetch_timeout_s)
                except (nats.errors.TimeoutError, TimeoutError):  # nats-py 2.16 also raises the builtin one
                    CONSUMER_LAG.labels(self.durable).set(0)
                    continue
                for msg in msgs:  # one at a time: a department's messages keep their order
                    await self._handle(msg)
                if msgs:
                    CONSUMER_LAG.labels(self.durable).set(msgs[-1].metadata.num_pending)
        finally:
            with contextlib.suppress(Exception):
                await psub.unsubscribe()

    async def _handle(self, msg: Msg) -> None:
        try:
            result = await self.process(msg.subject, msg.data, msg.metadata.sequence.stream)
        except TRANSIENT_DB_ERRORS as exc:
            log.warning("ingest message not processed; redelivering later", error=repr(exc))
            await msg.nak(delay=self.settings.projection_nak_delay_s)
            return
        except Exception:  # noqa: BLE001 (it stays in the stream; the others flow meanwhile)
            log.exception("ingest message could not even be dead-lettered; retrying later", subject=msg.subject)
            await msg.nak(delay=30)
            return
        await self.jetstream.publish(ingest_result_subject(result["dept_code"]), encode(result),
                              headers={"Nats-Msg-Id": f"result-{self.service}-{result['stream_seq']}"})
        await msg.ack()
        self.processed += 1
        INGEST_MESSAGES.labels(result.get("kind", "?"), result.get("status", "?")).inc()

    async def process(self, subject: str, data: bytes, seq: int) -> dict[str, Any]:
        """Record one message and return its result (the stored one if it was seen before)."""
        stored = await self.db.fetchval("SELECT result FROM ingest_log WHERE stream_seq = $1", seq)
        if stored is not None:
            return stored
        tokens = subject.split(".")
        dept, kind = (tokens[2], tokens[3]) if len(tokens) == 4 and subject.startswith(INGEST_PREFIX) else ("?", "?")
        base = {"stream_seq": seq, "dept_code": dept, "kind": kind, "message_id": None,
                "received_at": datetime.now(UTC).isoformat()}
        try:
            payload = json.loads(data)
            claimed = payload.get("message_id") if isinstance(payload, dict) else None
            base["message_id"] = claimed if isinstance(claimed, str) and _MESSAGE_ID.match(claimed) else None
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting, else a poison retried forever
            return await self._reject(subject, data, base, [reason("unparseable", "消息不是有效的 JSON", "not valid JSON")])
        if kind not in self.kinds:
            return await self._reject(subject, data, base, [reason("unknown_kind", f"未知的消息类型 {kind}",
                                                                   f"unknown message kind {kind}")])
        model, handler = self.kinds[kind]
        try:
            message = model.model_validate(payload)
        except pydantic.ValidationError as exc:
            return await self._reject(subject, data, base, validation_reasons(exc))
        ctx = IngestContext(dept, kind, seq, message.message_id, datetime.now(UTC))
        try:
            async with self.db.acquire() as conn, conn.transaction():
                earlier = await conn.fetchval(
                    "SELECT result FROM ingest_log WHERE dept_code = $1 AND kind = $2 AND message_id = $3 "
                    "AND status = 'accepted'", dept, kind, message.message_id)
                if earlier is not None:
                    result = {**base, "status": "duplicate", "event_ids": earlier["event_ids"],
                              "reasons": [reason("duplicate", "该消息编号已接收过，未重复记录",
                                                 "this message_id was accepted before; not recorded again")]}
                else:
                    events = await handler(message, ctx, conn)
                    result = {**base, "status": "accepted", "event_ids": [str(e.event_id) for e in events],
                              "reasons": []}
                await self._log(conn, result)
            return result
        except HuiminError as exc:
            return await self._reject(subject, data, base, reasons_of(exc))
        except TRANSIENT_DB_ERRORS:
            raise
        except Exception as exc:  # noqa: BLE001 (kept for an operator, never dropped)
            log.exception("ingest handler failed", subject=subject, seq=seq)
            return await self._reject(subject, data, base, [reason("internal", "处理时发生内部错误，已保留待处理",
                                                                   f"internal error, message kept: {exc!r}")])

    async def _reject(self, subject: str, data: bytes, base: dict[str, Any],
                      reasons: list[dict[str, Any]]) -> dict[str, Any]:
        # Reasons quote field names from the input, which may hold U+0000 (jsonb refuses it): escape it.
        reasons = _without_nul(reasons)
        result = {**base, "status": "rejected", "event_ids": [], "reasons": reasons}
        async with self.db.acquire() as conn, conn.transaction():
            await conn.execute(
                """INSERT INTO ingest_dead_letters (stream_seq, subject, dept_code, kind, payload, reasons)
                   VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (stream_seq) DO NOTHING""",
                base["stream_seq"], subject, base["dept_code"], base["kind"], data, reasons)
            await self._log(conn, result)
        return result

    @staticmethod
    async def _log(conn: asyncpg.Connection, result: dict[str, Any]) -> None:
        await conn.execute(
            """INSERT INTO ingest_log (stream_seq, dept_code, kind, message_id, status, result)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (stream_seq) DO NOTHING""",
            result["stream_seq"], result["dept_code"], result["kind"], result["message_id"], result["status"], result)
