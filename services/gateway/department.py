"""Department input from the web: a department user's message goes on HUIMIN_INGEST as their department.

The same path a department's own system uses (`huimin.ingest.<dept_code>.<kind>`, DESIGN.md §4),
so the owning service validates, records and answers it once; the gateway waits briefly for the
result on `huimin.ingest.result.<dept_code>`. The department code is the user's, never the client's.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pydantic

from services.gateway.errors import GatewayError
from services.gateway.users import User
from shared.contracts.base import Contract
from shared.contracts.feedback import FeedbackReceipt, FeedbackReply
from shared.contracts.projects import ProgressMessage
from shared.errors import Forbidden, ValidationFailed
from shared.rpc import validation_details
from shared.subjects import ingest_result_subject, ingest_subject

# kind -> (message model, 中文 title, English title): the kinds the services consume.
KINDS: dict[str, tuple[type[Contract], str, str]] = {
    "progress": (ProgressMessage, "报送项目进展", "Report progress"),
    "receipt": (FeedbackReceipt, "签收交办的意见建议", "Acknowledge forwarded feedback"),
    "reply": (FeedbackReply, "答复意见建议", "Answer feedback"),
}


def model_of(kind: str) -> type[Contract]:
    """The message model of a kind."""
    if kind not in KINDS:
        raise GatewayError("not_found", 404, "没有此类报送 / no such kind of department input")
    return KINDS[kind][0]


async def submit(nc: Any, user: User, kind: str, body: dict[str, Any], wait_s: float) -> tuple[int, dict[str, Any]]:
    """Publish the message as the user's department; (HTTP status, the service's result or `pending`)."""
    if not user.dept_code:
        raise Forbidden("只有责任单位用户可以报送 / only department users send department input")
    body = {**body, "message_id": body.get("message_id") or f"web-{uuid.uuid4().hex}"}
    try:
        message = model_of(kind).model_validate(body)
    except pydantic.ValidationError as exc:
        raise ValidationFailed("报送内容有误 / invalid department input", validation_details(exc)) from exc
    message_id = body["message_id"]
    results: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def collect(msg: Any) -> None:
        result = json.loads(msg.data)
        if result.get("message_id") == message_id and result.get("kind") == kind:
            await results.put(result)

    sub = await nc.subscribe(ingest_result_subject(user.dept_code), cb=collect)
    try:
        # A PubAck means JetStream holds it: from here on it is processed whether or not we wait.
        await nc.jetstream().publish(ingest_subject(user.dept_code, kind),
                                     message.model_dump_json(by_alias=True).encode(),
                                     headers={"Nats-Msg-Id": f"{user.dept_code}.{kind}.{message_id}"})
        try:
            result = await asyncio.wait_for(results.get(), wait_s)
        except TimeoutError:
            return 202, {"status": "pending", "message_id": message_id, "dept_code": user.dept_code}
    finally:
        await sub.unsubscribe()
    if result.get("status") == "rejected":
        reasons = result.get("reasons") or []
        first = reasons[0] if reasons else {}
        raise ValidationFailed(f"{first.get('zh', '报送被退回')} / {first.get('en', 'rejected')}",
                               [{"field": r.get("field"), "message": f"{r.get('zh')} / {r.get('en')}"} for r in reasons])
    return 200, result
