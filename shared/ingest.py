"""Department input over JetStream `HUIMIN_INGEST`: validate, record, answer, dead-letter.

A department publishes JSON on `huimin.ingest.<dept_code>.<kind>`; every message carries its
own `message_id`. The owning service consumes it durably, a fetched batch per transaction, and sends
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
from collections import Counter
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
from shared.eventstore.store import VersionConflict
from shared.handling import RETRY_ATTEMPTS, after_lost_race
from shared.leader import leadership
from shared.logging import get_logger
from shared.metrics import CONSUMER_LAG, INGEST_MESSAGES
from shared.rpc import RequestContext, encode
from shared.subjects import INGEST_PREFIX, INGEST_STREAM, ingest_result_subject, ingest_subject

log = get_logger(__name__)

INGEST_MIGRATIONS = migrations_in("ingest", Path(__file__).parent / "ingest_sql")


_MESSAGE_ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,100}$"
_MESSAGE_ID = re.compile(_MESSAGE_ID_PATTERN)
# How long a batch waits for more messages once its first one is there (only when fewer are ready).
_TOP_UP_S = 0.02


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


@dataclass
class _Input:
    """One fetched message, parsed and validated as far as that goes without the database."""

    subject: str
    data: bytes
    seq: int
    base: dict[str, Any]
    message: DepartmentMessage | None = None
    reasons: list[dict[str, Any]] | None = None  # why it is rejected before its handler runs

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes two messages the same one: department, kind and message_id."""
        assert self.message is not None
        return self.base["dept_code"], self.base["kind"], self.message.message_id


class IngestConsumer:
    """Consumes some kinds of department input for one service; one active instance.

    Each fetched batch is recorded in one transaction, in stream order (a department's messages
    keep their order); every message has its own savepoint, so a rejection undoes only itself.
    Results are published after the commit and the messages acked once every result is stored
    in the stream: a crash in between redelivers them, and the log answers them again.
    """

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
                msgs = await self._fetch(psub)
                if not msgs:
                    CONSUMER_LAG.labels(self.durable).set(0)
                    continue
                await self._handle(msgs)
                CONSUMER_LAG.labels(self.durable).set(msgs[-1].metadata.num_pending)
        finally:
            with contextlib.suppress(Exception):
                await psub.unsubscribe()

    async def _fetch(self, psub: JetStreamContext.PullSubscription) -> list[Msg]:
        """The next batch: wait for its first message, then take what else is there right now.

        One fetch of the whole batch would, when the stream is nearly caught up, hold the first
        message until the batch fills or the fetch times out; this answers it at once instead.
        """
        try:
            msgs = await psub.fetch(1, timeout=self.settings.ingest_fetch_timeout_s)
        except (nats.errors.TimeoutError, TimeoutError):  # nats-py 2.16 also raises the builtin one
            return []
        if self.settings.ingest_batch > 1:
            with contextlib.suppress(nats.errors.TimeoutError, TimeoutError):
                msgs += await psub.fetch(self.settings.ingest_batch - 1, timeout=_TOP_UP_S)
        return msgs

    async def _handle(self, msgs: list[Msg]) -> None:
        try:
            results = await self.process_batch([_delivery(m) for m in msgs])
        except TRANSIENT_DB_ERRORS as exc:
            await self._retry_later(msgs, exc)
            return
        except Exception:  # noqa: BLE001 (not a message's fault: find the one that breaks the batch, keep the rest)
            log.exception("ingest batch could not be recorded; recording its messages one by one", count=len(msgs))
            await self._handle_one_by_one(msgs)
            return
        await self._answer(msgs, results)

    async def _handle_one_by_one(self, msgs: list[Msg]) -> None:
        for i, msg in enumerate(msgs):
            try:
                results = await self.process_batch([_delivery(msg)])
            except TRANSIENT_DB_ERRORS as exc:
                await self._retry_later(msgs[i:], exc)
                return
            except Exception:  # noqa: BLE001 (it stays in the stream; the others flow meanwhile)
                log.exception("ingest message could not even be dead-lettered; retrying later", subject=msg.subject)
                await msg.nak(delay=30)
                continue
            await self._answer([msg], results)

    async def _retry_later(self, msgs: list[Msg], exc: BaseException) -> None:
        log.warning("ingest batch not recorded; redelivering later", error=repr(exc), count=len(msgs))
        delay = self.settings.projection_nak_delay_s
        for msg in msgs:
            await msg.nak(delay=delay)
        # Fetch again only once they are due: they come back before anything newer (department order).
        await asyncio.sleep(delay)

    async def _answer(self, msgs: list[Msg], results: list[dict[str, Any]]) -> None:
        """Publish every result, wait for all their PubAcks together, then ack the messages."""
        acks: list[asyncio.Future[Any]] = []
        try:
            for result in results:
                acks.append(await self.jetstream.publish_async(
                    ingest_result_subject(result["dept_code"]), encode(result),
                    headers={"Nats-Msg-Id": f"result-{self.service}-{result['stream_seq']}"}))
            await asyncio.wait_for(asyncio.gather(*acks), timeout=self.settings.relay_puback_timeout_s)
        except Exception as exc:  # noqa: BLE001 (recorded already: a redelivery is answered from the log)
            for ack in acks:
                ack.cancel()
            await self._retry_later(msgs, exc)
            return
        for msg in msgs:
            await msg.ack()
        self.processed += len(msgs)
        for (kind, status), n in Counter((r.get("kind", "?"), r.get("status", "?")) for r in results).items():
            INGEST_MESSAGES.labels(kind, status).inc(n)

    async def process(self, subject: str, data: bytes, seq: int) -> dict[str, Any]:
        """Record one message and return its result (the stored one if it was seen before)."""
        return (await self.process_batch([(subject, data, seq)]))[0]

    async def process_batch(self, deliveries: list[tuple[str, bytes, int]]) -> list[dict[str, Any]]:
        """Record messages (subject, data, stream_seq) in stream order in one transaction; their results.

        A message seen before is answered with its stored result; one accepted before under the same
        message_id (earlier or in this batch) is a duplicate; a rejected one is dead-lettered.
        """
        inputs = [self._parse(subject, data, seq) for subject, data, seq in deliveries]
        async with self.db.acquire() as conn, conn.transaction():
            answered, accepted = await self._seen(conn, [i.seq for i in inputs], [i.key for i in inputs if i.message])
            results, new = [], []
            for item in inputs:
                if item.seq not in answered:  # also a stream_seq delivered twice in one batch
                    answered[item.seq] = await self._record(conn, item, accepted)
                    new.append((item, answered[item.seq]))
                results.append(answered[item.seq])
            await self._write_log(conn, new)
        return results

    def _parse(self, subject: str, data: bytes, seq: int) -> _Input:
        tokens = subject.split(".")
        dept, kind = (tokens[2], tokens[3]) if len(tokens) == 4 and subject.startswith(INGEST_PREFIX) else ("?", "?")
        item = _Input(subject, data, seq, {"stream_seq": seq, "dept_code": dept, "kind": kind, "message_id": None,
                                           "received_at": datetime.now(UTC).isoformat()})
        try:
            payload = json.loads(data)
            claimed = payload.get("message_id") if isinstance(payload, dict) else None
            item.base["message_id"] = claimed if isinstance(claimed, str) and _MESSAGE_ID.match(claimed) else None
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting, else a poison retried forever
            item.reasons = [reason("unparseable", "消息不是有效的 JSON", "not valid JSON")]
            return item
        if kind not in self.kinds:
            item.reasons = [reason("unknown_kind", f"未知的消息类型 {kind}", f"unknown message kind {kind}")]
            return item
        try:
            item.message = self.kinds[kind][0].model_validate(payload)
        except pydantic.ValidationError as exc:
            item.reasons = validation_reasons(exc)
        return item

    @staticmethod
    async def _seen(conn: asyncpg.Connection, seqs: list[int], keys: list[tuple[str, str, str]]
                    ) -> tuple[dict[int, dict[str, Any]], dict[tuple[str, str, str], Any]]:
        """The stored results of the deliveries among `seqs` (redelivered ones), and the event ids of
        the messages among `keys` accepted before: both in one round trip."""
        columns = [list(c) for c in zip(*keys, strict=True)] or [[], [], []]
        rows = await conn.fetch(
            """SELECT stream_seq, NULL AS dept_code, NULL AS kind, NULL AS message_id, result FROM ingest_log
               WHERE stream_seq = ANY($1::bigint[])
               UNION ALL
               SELECT NULL, l.dept_code, l.kind, l.message_id, l.result -> 'event_ids' FROM ingest_log l
               JOIN unnest($2::text[], $3::text[], $4::text[]) AS k(dept_code, kind, message_id)
                 ON (l.dept_code, l.kind, l.message_id) = (k.dept_code, k.kind, k.message_id)
               WHERE l.status = 'accepted'""", seqs, *columns)
        answered = {r["stream_seq"]: r["result"] for r in rows if r["stream_seq"] is not None}
        accepted = {(r["dept_code"], r["kind"], r["message_id"]): r["result"] for r in rows if r["stream_seq"] is None}
        return answered, accepted

    async def _record(self, conn: asyncpg.Connection, item: _Input,
                      accepted: dict[tuple[str, str, str], Any]) -> dict[str, Any]:
        """The result of one new message; its handler's writes in a savepoint of the batch."""
        if item.message is None:
            return _rejected(item, item.reasons or [])
        if item.key in accepted:
            return {**item.base, "status": "duplicate", "event_ids": accepted[item.key],
                    "reasons": [reason("duplicate", "该消息编号已接收过，未重复记录",
                                       "this message_id was accepted before; not recorded again")]}
        ctx = IngestContext(item.base["dept_code"], item.base["kind"], item.seq, item.message.message_id,
                            datetime.now(UTC))
        try:
            events = await self._decided(conn, self.kinds[ctx.kind][1], item.message, ctx)
        except HuiminError as exc:
            return _rejected(item, reasons_of(exc))
        except TRANSIENT_DB_ERRORS:
            raise
        except Exception as exc:  # noqa: BLE001 (kept for an operator, never dropped)
            log.exception("ingest handler failed", subject=item.subject, seq=item.seq)
            return _rejected(item, [reason("internal", "处理时发生内部错误，已保留待处理",
                                           f"internal error, message kept: {exc!r}")])
        accepted[item.key] = event_ids = [str(e.event_id) for e in events]
        return {**item.base, "status": "accepted", "event_ids": event_ids, "reasons": []}

    @staticmethod
    async def _decided(conn: asyncpg.Connection, handler: IngestHandler, message: DepartmentMessage,
                       ctx: IngestContext) -> list[EventEnvelope]:
        """The handler's events, its writes in a savepoint of the batch (a rejection undoes only this
        message); run again on fresh state when a stream it appended to moved meanwhile.

        So a handler may append with plain `execute` on `conn`: the savepoint here is its attempt's.
        """
        for attempt in range(1, RETRY_ATTEMPTS + 1):
            try:
                async with conn.transaction():
                    return await handler(message, ctx, conn)
            except VersionConflict:
                if attempt == RETRY_ATTEMPTS:
                    raise
                await after_lost_race(attempt)
        raise AssertionError("unreachable")

    @staticmethod
    async def _write_log(conn: asyncpg.Connection, new: list[tuple[_Input, dict[str, Any]]]) -> None:
        dead = [(i.seq, i.subject, r["dept_code"], r["kind"], i.data, r["reasons"])
                for i, r in new if r["status"] == "rejected"]
        if dead:
            await conn.executemany(
                """INSERT INTO ingest_dead_letters (stream_seq, subject, dept_code, kind, payload, reasons)
                   VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (stream_seq) DO NOTHING""", dead)
        if new:
            await conn.executemany(
                """INSERT INTO ingest_log (stream_seq, dept_code, kind, message_id, status, result)
                   VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (stream_seq) DO NOTHING""",
                [(r["stream_seq"], r["dept_code"], r["kind"], r["message_id"], r["status"], r) for _, r in new])


def _rejected(item: _Input, reasons: list[dict[str, Any]]) -> dict[str, Any]:
    # Reasons quote field names from the input, which may hold U+0000 (jsonb refuses it): escape it.
    return {**item.base, "status": "rejected", "event_ids": [], "reasons": _without_nul(reasons)}


def _delivery(msg: Msg) -> tuple[str, bytes, int]:
    return msg.subject, msg.data, msg.metadata.sequence.stream
