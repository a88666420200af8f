"""Command and query RPC over NATS request/reply (DESIGN.md §4), server and client side.

Replies are `{ok: true, ...}` or `{ok: false, error: {code, message, details}}`. The actor and
correlation id travel in headers, set by the gateway from the authenticated user.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import nats.errors
import orjson
import pydantic
import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic_core import to_jsonable_python

from shared.config import Settings
from shared.contracts.base import Contract
from shared.db import TRANSIENT_DB_ERRORS
from shared.errors import HuiminError, Unavailable, ValidationFailed, error_from_reply
from shared.logging import get_logger
from shared.metrics import observe_request

log = get_logger(__name__)

ACTOR_HEADER = "Huimin-Actor"
CORRELATION_HEADER = "Huimin-Correlation-Id"

M = TypeVar("M", bound=Contract)

# Largest command or query body accepted: NATS's default max_payload, which bulk imports (a file of
# up to 1,000,000 base64 characters) fit in. A server configured for more still refuses more here.
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class RequestContext:
    """Who asked, under which correlation id, and when the request arrived (UTC)."""

    actor: str
    correlation_id: str
    received_at: datetime


Handler = Callable[[Any, RequestContext], Awaitable[dict[str, Any]]]


def encode(data: Any) -> bytes:
    """JSON bytes of any request or payload (pydantic models, datetimes and UUIDs included).

    A non-finite float comes out as NaN/Infinity, which is not JSON: the receiver refuses it
    (dispatch, the ingest consumer) instead of reading null where a number was sent.
    """
    return json.dumps(data, default=to_jsonable_python, ensure_ascii=False).encode()


# Datetimes go through pydantic like every other type (UTC as "Z", as contracts and views write them);
# non-string keys become strings as json.dumps made them.
_REPLY_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def encode_reply(reply: dict[str, Any]) -> bytes:
    """JSON bytes of a handler's reply, the same JSON as `encode` gives for every finite value.

    orjson: a city board page or a timeline (80 to 330 KiB) encodes 3 to 10 times faster. A reply
    holds what our own handlers computed, never a client's NaN to refuse (orjson would write null).
    """
    try:
        return orjson.dumps(reply, default=to_jsonable_python, option=_REPLY_OPTIONS)
    except TypeError:  # what orjson cannot write (an integer beyond 64 bits): as json.dumps writes it
        return encode(reply)


def _no_constants(token: str) -> Any:
    # Python's json accepts NaN and Infinity, which are not JSON and which PostgreSQL's jsonb refuses.
    raise ValueError(f"{token} is not valid JSON")


def validation_details(exc: pydantic.ValidationError) -> list[dict[str, Any]]:
    """Field paths and reasons of a pydantic validation error."""
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "(body)", "message": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


async def dispatch(
    model: type[M], handler: Handler, data: bytes, headers: dict[str, str] | None, timeout: float
) -> dict[str, Any]:
    """Validate a request, run its handler and turn every outcome into a reply dict."""
    headers = headers or {}
    ctx = RequestContext(
        actor=headers.get(ACTOR_HEADER, "system"),
        correlation_id=headers.get(CORRELATION_HEADER) or str(uuid.uuid4()),
        received_at=datetime.now(UTC),
    )
    with structlog.contextvars.bound_contextvars(correlation_id=ctx.correlation_id, request=model.__name__):
        try:
            if len(data or b"") > MAX_BODY_BYTES:
                raise ValidationFailed(f"请求内容过大（上限 {MAX_BODY_BYTES // 1024} KiB） / request body too large",
                                       {"bytes": len(data or b""), "max_bytes": MAX_BODY_BYTES})
            try:
                payload = json.loads(data or b"{}", parse_constant=_no_constants)
            except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
                raise ValidationFailed("请求内容不是有效的 JSON / body is not valid JSON", str(exc)) from exc
            try:
                request = model.model_validate(payload)
            except pydantic.ValidationError as exc:
                raise ValidationFailed("请求内容有误 / invalid request", validation_details(exc)) from exc
            async with asyncio.timeout(timeout):  # in this task: wait_for would start one more per request
                result = await handler(request, ctx)
            return {"ok": True, **result}
        except HuiminError as exc:
            return exc.to_reply()
        except (*TRANSIENT_DB_ERRORS, nats.errors.Error) as exc:
            log.warning("dependency unavailable", error=repr(exc))
            return Unavailable("服务暂时不可用，请稍后再试 / a dependency is unavailable, retry later", repr(exc)).to_reply()
        except Exception:  # noqa: BLE001 (every request gets an answer)
            log.exception("request failed")
            return HuiminError("内部错误 / internal error").to_reply()


Endpoint = Callable[[bytes, dict[str, str] | None], Awaitable[bytes]]


def too_large(size: int, limit: int) -> ValidationFailed:
    """The answer to a request whose reply would exceed what one NATS message may carry."""
    return ValidationFailed("查询结果过大，请缩小查询范围（如缩短期间或分页） / the answer is too large for one message: "
                            "narrow the request (a shorter period, a page)", {"bytes": size, "max_bytes": limit})


class RpcServer:
    """Answers the command and query subjects of one service, in its queue group, on the connection `start` gets.

    Plain nats-py subscriptions, not FastStream subscribers: FastStream's per-message machinery
    (middlewares, dependency injection, its own task group) cost more CPU per request than
    validating and running the command itself. Each subject keeps its own limit of requests
    handled at once (`rpc_max_workers`); more wait in the subscription's pending queue.
    """

    def __init__(self, service: str, settings: Settings) -> None:
        self.service, self.settings = service, settings
        self.subjects: list[str] = []
        self.models: dict[str, type[Contract]] = {}  # subject -> request model, for tools and tests
        self.endpoints: dict[str, Endpoint] = {}
        self.subscriptions: list[Subscription] = []
        self._running: set[asyncio.Task[None]] = set()

    def handle(self, subject: str, model: type[M], *, timeout_s: float | None = None) -> Callable[[Handler], Handler]:
        """Decorator: answer requests on `subject`, validated as `model`, in the service's queue group.

        `timeout_s` is for the few long operations (a rebuild) whose callers wait longer on purpose.
        """
        # Leave headroom under the client's timeout so the caller gets our answer, not its own timeout.
        timeout = timeout_s or max(0.5, self.settings.rpc_timeout_s - 0.5)

        def register(handler: Handler) -> Handler:
            async def endpoint(body: bytes, headers: dict[str, str] | None) -> bytes:
                started = time.perf_counter()
                reply = await dispatch(model, handler, body, headers, timeout)
                observe_request(subject, reply, time.perf_counter() - started)
                return encode_reply(reply)

            self.endpoints[subject] = endpoint
            self.subjects.append(subject)
            self.models[subject] = model
            return handler

        return register

    async def start(self, nc: NatsClient) -> None:
        """Subscribe every registered subject (call once connected, before announcing the service)."""
        for subject, endpoint in self.endpoints.items():
            self.subscriptions.append(await nc.subscribe(subject, queue=self.service,
                                                         cb=self._deliverer(nc, subject, endpoint)))

    def _deliverer(self, nc: NatsClient, subject: str, endpoint: Endpoint) -> Callable[[Msg], Awaitable[None]]:
        slots = asyncio.Semaphore(self.settings.rpc_max_workers)

        async def answer(msg: Msg) -> None:
            try:
                reply = await endpoint(msg.data, msg.headers)
                if len(reply) > nc.max_payload:
                    # NATS would refuse to send it and the caller would wait for its timeout: say why instead.
                    log.error("reply too large", subject=subject, bytes=len(reply), max_bytes=nc.max_payload)
                    reply = encode(too_large(len(reply), nc.max_payload).to_reply())
                if msg.reply:
                    await nc.publish(msg.reply, reply)
            except Exception:  # noqa: BLE001 (dispatch answers every request; this is the transport failing)
                log.exception("reply not sent", subject=subject)
            finally:
                slots.release()

        async def deliver(msg: Msg) -> None:
            # nats-py awaits this before delivering the next message: waiting for a slot here holds
            # the rest in the subscription's pending queue.
            await slots.acquire()
            task = asyncio.create_task(answer(msg))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

        return deliver

    async def stop(self, grace_s: float = 1.0) -> None:
        """Take no more requests; give those under way up to `grace_s` to answer, then cancel them."""
        for sub in self.subscriptions:
            with contextlib.suppress(Exception):  # the connection may be gone already
                await sub.unsubscribe()
        self.subscriptions.clear()
        if self._running:
            _, late = await asyncio.wait(set(self._running), timeout=grace_s)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=grace_s)


NO_RESPONDERS_RETRY_S = (0.05, 0.1, 0.2)  # pauses before asking again when nobody answers


class RpcClient:
    """Sends commands and queries and returns their replies."""

    def __init__(self, nc: NatsClient, timeout: float = 5.0) -> None:
        self.nc, self.timeout = nc, timeout

    async def request(
        self, subject: str, payload: Contract | dict[str, Any], *, actor: str = "system",
        correlation_id: str | None = None, timeout: float | None = None,
    ) -> dict[str, Any]:
        """The reply dict, ok or not; unreachable services become an `unavailable` reply."""
        body = payload.model_dump(mode="json") if isinstance(payload, Contract) else payload
        headers = {ACTOR_HEADER: actor, CORRELATION_HEADER: correlation_id or str(uuid.uuid4())}
        data = encode(body)
        for pause in (*NO_RESPONDERS_RETRY_S, None):
            try:
                msg = await self.nc.request(subject, data, timeout=timeout or self.timeout, headers=headers)
            except nats.errors.MaxPayloadError:
                return ValidationFailed(f"请求内容过大 / request body too large for {subject}").to_reply()
            except nats.errors.NoRespondersError:
                # A service restarting or just started (its subscription not yet seen everywhere)
                # has no responder for a moment: ask again shortly before calling it unavailable.
                if pause is None:
                    return Unavailable(f"没有服务应答 / no service answers {subject}").to_reply()
                await asyncio.sleep(pause)
                continue
            except (nats.errors.TimeoutError, TimeoutError):
                return Unavailable(f"服务应答超时 / no answer on {subject} in time").to_reply()
            return json.loads(msg.data)
        raise AssertionError("unreachable")

    async def call(self, subject: str, payload: Contract | dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """The reply of a successful request; a failed one is raised as its HuiminError."""
        reply = await self.request(subject, payload, **kwargs)
        if not reply.get("ok"):
            raise error_from_reply(reply)
        return reply
