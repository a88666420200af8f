"""Command and query RPC over NATS request/reply (DESIGN.md §4), server and client side.

Replies are `{ok: true, ...}` or `{ok: false, error: {code, message, details}}`. The actor and
correlation id travel in headers, set by the gateway from the authenticated user.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

import nats.errors
import pydantic
import structlog
from faststream.nats import NatsBroker
from nats.aio.client import Client as NatsClient
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
    """JSON bytes of any reply or payload (pydantic models, datetimes and UUIDs included)."""
    return json.dumps(data, default=to_jsonable_python, ensure_ascii=False).encode()


def _no_constants(token: str) -> Any:
    # Python's json accepts NaN and Infinity, which are not JSON and which PostgreSQL's jsonb refuses.
    raise ValueError(f"{token} is not valid JSON")


class RawRequest(NamedTuple):
    """A request as it came: body bytes and headers (what an RPC endpoint is handed)."""

    body: bytes
    headers: dict[str, str] | None


async def _raw_request(message: Any) -> RawRequest:
    # dispatch() parses the body itself, with its own limits and errors; FastStream's default decoder
    # would parse it first, and a body nested beyond Python's recursion limit would kill the
    # request there, unanswered (the caller saw a timeout). The headers come along with the body:
    # taking them from a `NatsMessage` context parameter instead makes FastStream (fast_depends)
    # resolve that context in anyio's worker thread, a thread hand-off on every request.
    return RawRequest(message.body, message.headers)


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
            result = await asyncio.wait_for(handler(request, ctx), timeout)
            return {"ok": True, **result}
        except HuiminError as exc:
            return exc.to_reply()
        except (*TRANSIENT_DB_ERRORS, nats.errors.Error) as exc:
            log.warning("dependency unavailable", error=repr(exc))
            return Unavailable("服务暂时不可用，请稍后再试 / a dependency is unavailable, retry later", repr(exc)).to_reply()
        except Exception:  # noqa: BLE001 (every request gets an answer)
            log.exception("request failed")
            return HuiminError("内部错误 / internal error").to_reply()


class RpcServer:
    """Registers command and query handlers of one service on a FastStream NATS broker."""

    def __init__(self, broker: NatsBroker, service: str, settings: Settings) -> None:
        self.broker, self.service, self.settings = broker, service, settings
        self.subjects: list[str] = []
        self.models: dict[str, type[Contract]] = {}  # subject -> request model, for tools and tests

    def handle(self, subject: str, model: type[M], *, timeout_s: float | None = None) -> Callable[[Handler], Handler]:
        """Decorator: answer requests on `subject`, validated as `model`, in the service's queue group.

        `timeout_s` is for the few long operations (a rebuild) whose callers wait longer on purpose.
        """
        # Leave headroom under the client's timeout so the caller gets our answer, not its own timeout.
        timeout = timeout_s or max(0.5, self.settings.rpc_timeout_s - 0.5)

        def register(handler: Handler) -> Handler:
            async def endpoint(request: Any) -> bytes:  # a RawRequest; `Any`: FastStream passes it as is
                started = time.perf_counter()
                reply = await dispatch(model, handler, request.body, request.headers, timeout)
                observe_request(subject, reply, time.perf_counter() - started)
                return encode(reply)

            endpoint.__name__ = f"{self.service}_{handler.__name__}"
            self.broker.subscriber(subject, queue=self.service, max_workers=self.settings.rpc_max_workers,
                                   decoder=_raw_request)(endpoint)
            self.subjects.append(subject)
            self.models[subject] = model
            return handler

        return register


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
