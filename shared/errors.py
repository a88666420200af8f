"""Errors with stable codes: what a command or query reply carries when it fails (DESIGN.md §4)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Stable error codes of every reply; the gateway maps them to HTTP statuses."""

    VALIDATION = "validation"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    FORBIDDEN = "forbidden"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


class HuiminError(Exception):
    """A failure a caller is told about, with a stable code, a message and details."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_reply(self) -> dict[str, Any]:
        """The failed reply: {ok: false, error: {code, message, details}}."""
        return {"ok": False, "error": {"code": str(self.code), "message": self.message, "details": self.details}}


class ValidationFailed(HuiminError):
    """The input breaks a rule; details say which field and why."""

    code = ErrorCode.VALIDATION


class NotFound(HuiminError):
    """The thing named does not exist."""

    code = ErrorCode.NOT_FOUND


class Conflict(HuiminError):
    """The state changed or forbids this now (including an expected-version conflict)."""

    code = ErrorCode.CONFLICT


class Forbidden(HuiminError):
    """The actor may not do this."""

    code = ErrorCode.FORBIDDEN


class Unavailable(HuiminError):
    """A dependency (PostgreSQL, NATS) cannot be reached now; try again later."""

    code = ErrorCode.UNAVAILABLE


def error_from_reply(reply: dict[str, Any]) -> HuiminError:
    """Rebuild the error a failed reply carries, for clients of the RPC."""
    error = reply.get("error") or {}
    by_code = {cls.code: cls for cls in (ValidationFailed, NotFound, Conflict, Forbidden, Unavailable)}
    cls = by_code.get(error.get("code"), HuiminError)
    return cls(error.get("message", "unknown error"), error.get("details"))
