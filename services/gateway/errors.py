"""HTTP statuses of reply codes, and the one error body `{code, message, details}` of every failure."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import ErrorCode, HuiminError
from shared.rpc import validation_details

STATUS = {
    ErrorCode.VALIDATION: 422, ErrorCode.NOT_FOUND: 404, ErrorCode.CONFLICT: 409, ErrorCode.FORBIDDEN: 403,
    ErrorCode.UNAVAILABLE: 503, ErrorCode.INTERNAL: 500,
}


class GatewayError(HuiminError):
    """A failure of the gateway itself (authentication, throttling, uploads) with its own status."""

    def __init__(self, code: str, status: int, message: str, details: Any = None) -> None:
        super().__init__(message, details)
        self.code, self.status = code, status  # type: ignore[assignment]


def unauthenticated(message: str = "请先登录 / please log in") -> GatewayError:
    """No valid session or token."""
    return GatewayError("unauthenticated", 401, message)


def status_of(exc: HuiminError) -> int:
    """The HTTP status of an error."""
    return exc.status if isinstance(exc, GatewayError) else STATUS.get(exc.code, 500)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The body of every error response."""
    return {"code": str(code), "message": message, "details": details}


def error_response(exc: HuiminError) -> JSONResponse:
    """The JSON response of an error."""
    headers = {"WWW-Authenticate": "Bearer"} if status_of(exc) == 401 else None
    return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=status_of(exc), headers=headers)


async def on_huimin_error(request: Request, exc: HuiminError) -> JSONResponse:
    """Exception handler: an error reply of a service, or the gateway's own."""
    return error_response(exc)


async def on_request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    """Exception handler: FastAPI's own validation, in the same body as the services'."""
    details = [{"field": ".".join(str(p) for p in err["loc"] if p not in ("body", "query")) or "(body)",
                "message": err["msg"], "type": err["type"]} for err in exc.errors()]
    return JSONResponse(error_body(ErrorCode.VALIDATION, "请求内容有误 / invalid request", details), status_code=422)


async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Exception handler: routing errors (404, 405) in the same body."""
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = {404: "没有此地址 / no such path", 405: "不支持此方法 / method not allowed"}.get(
        exc.status_code, str(exc.detail))
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=getattr(exc, "headers", None))


__all__ = ["GatewayError", "validation_details"]
