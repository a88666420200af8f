"""`/api/v1`: one route per command and query of the catalog, plus auth, users, attachments, exports."""

# No `from __future__ import annotations`: endpoint signatures are built from live model classes.

import inspect
import typing
from typing import Any

from fastapi import APIRouter, Body, Depends, File, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.gateway import auth, department, exports
from services.gateway.attachments import AttachmentStore
from services.gateway.auth import current_user, gateway_of
from services.gateway.catalog import Catalog, Route
from services.gateway.errors import GatewayError
from services.gateway.examples import model_example
from services.gateway.i18n import lang_of
from services.gateway.permissions import may, require_gateway
from services.gateway.users import User
from shared.contracts.base import Contract
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.rpc import validation_details

PREFIX = "/api/v1"
ERRORS = {status: {"description": text} for status, text in (
    (401, "未登录 / not authenticated"), (403, "无权 / forbidden"), (404, "不存在 / not found"),
    (409, "冲突 / conflict"), (422, "输入有误 / validation"), (503, "服务不可用 / unavailable"))}


def correlation_id(request: Request) -> str | None:
    """A caller-chosen request id, carried to the services and into events."""
    return request.headers.get("x-request-id")


def _user_for(route: Route) -> Any:
    """Dependency: the authenticated user, refused before their request is even validated if their role
    may not use the route (scopes, which need the request, are checked when sending)."""

    async def user_for_route(request: Request) -> User:
        user = await current_user(request)
        if not may(user, route):
            raise Forbidden("无权执行此操作 / not allowed for your role",
                            {"role": str(user.role), "route": f"{route.kind} {route.group}.{route.name}"})
        return user

    return Depends(user_for_route)


def _endpoint(route: Route, source: str) -> Any:
    """An endpoint sending the route's request, validated at the gateway as the route's model."""

    async def endpoint(request: Request, user: User, payload: BaseModel) -> Any:
        body = payload.model_dump(mode="json", exclude_unset=True)
        return await gateway_of(request).send(user, route, body, correlation_id(request))

    if source == "body":
        param = Body(openapi_examples={"example": {"summary": route.summary, "value": model_example(route.model)}})
        annotation: Any = route.model
    else:
        param, annotation = None, typing.Annotated[route.model, Query()]
    endpoint.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
        inspect.Parameter("user", inspect.Parameter.KEYWORD_ONLY, annotation=User, default=_user_for(route)),
        inspect.Parameter("payload", inspect.Parameter.KEYWORD_ONLY, annotation=annotation,
                          **({"default": param} if param is not None else {})),
    ])
    endpoint.__name__ = f"{route.kind}_{route.group}_{route.name}_{source}"
    return endpoint


def catalog_router(catalog: Catalog) -> APIRouter:
    """A route per command (POST) and query (GET with query parameters when they fit, and POST)."""
    router = APIRouter(prefix=PREFIX, responses=ERRORS)
    for route in catalog.routes:
        doc = inspect.getdoc(route.model) or ""
        common = {"summary": route.summary, "description": f"{doc}\n\nNATS: `{route.subject}`",
                  "tags": [route.group]}
        if route.kind == "command":
            router.add_api_route(route.path, _endpoint(route, "body"), methods=["POST"], **common)
            continue
        if route.scalar_fields:
            router.add_api_route(route.path, _endpoint(route, "query"), methods=["GET"], **common)
        router.add_api_route(route.path, _endpoint(route, "body"), methods=["POST"],
                             operation_id=f"query_{route.group}_{route.name}_post", **common)
    return router


# Contract, not a bare BaseModel: unknown fields, NUL characters and huge integers are refused as
# validation errors (422) the same way as for every command.
class LoginBody(Contract):
    """User name and password."""

    username: str = Field(max_length=40, examples=["office1"])
    password: str = Field(max_length=200, examples=["a-long-password"])


class NewUser(Contract):
    """A user to create (admin only)."""

    username: str
    password: str
    role: str = Field(examples=["office"])
    display_name: str = ""
    dept_code: str | None = None
    delegate_id: str | None = None
    group_id: str | None = None


class NewToken(Contract):
    """A label saying what the token is for."""

    label: str = Field(min_length=1, max_length=100, examples=["教育局进度上报系统"])
    username: str | None = Field(default=None, description="admin only: issue for another (machine) user")


def auth_router() -> APIRouter:
    """Login, logout, who am I, API tokens, and user administration."""
    router = APIRouter(prefix=PREFIX, tags=["auth"])

    @router.post("/auth/login", summary="登录 / log in (sets the session cookie)")
    async def login(request: Request, response: Response, body: LoginBody) -> dict[str, Any]:
        user, csrf = await auth.login(request, response, body.username, body.password)
        return {"user": user.public(), "csrf_token": csrf}

    @router.post("/auth/logout", summary="退出 / log out")
    async def logout(request: Request, response: Response, user: User = Depends(current_user)) -> dict[str, Any]:
        await auth.logout(request, response)
        return {"logged_out": True}

    @router.get("/auth/me", summary="当前用户 / the current user and what they may use")
    async def me(request: Request, user: User = Depends(current_user)) -> dict[str, Any]:
        catalog = gateway_of(request).catalog
        allowed = [f"{r.kind} {r.group}.{r.name}" for r in catalog.routes if may(user, r)]
        return {"user": user.public(), "actor": user.actor, "csrf_token": auth.csrf_token_of(request),
                "allowed": allowed}

    @router.get("/auth/tokens", summary="我的接口令牌 / my API tokens")
    async def my_tokens(request: Request, user: User = Depends(current_user)) -> dict[str, Any]:
        require_gateway(user, "tokens.own")
        return {"items": await gateway_of(request).users.list_tokens(user.username)}

    @router.post("/auth/tokens", summary="新建接口令牌 / issue an API token (shown once)")
    async def issue_token(request: Request, body: NewToken, user: User = Depends(current_user)) -> dict[str, Any]:
        require_gateway(user, "tokens.own")
        owner = body.username or user.username
        if owner != user.username:
            require_gateway(user, "users.manage")
        return {"token": await gateway_of(request).users.issue_token(owner, body.label), "username": owner}

    @router.delete("/auth/tokens/{token_id}", summary="撤销令牌 / revoke a token")
    async def revoke_token(request: Request, token_id: str, user: User = Depends(current_user)) -> dict[str, Any]:
        users = gateway_of(request).users
        mine = {t["id"] for t in await users.list_tokens(user.username)}
        if token_id not in mine:
            require_gateway(user, "users.manage")
        await users.revoke_token(token_id)
        return {"revoked": token_id}

    @router.get("/users", summary="用户列表 / list users (admin)")
    async def list_users(request: Request, user: User = Depends(current_user)) -> dict[str, Any]:
        require_gateway(user, "users.manage")
        return {"items": await gateway_of(request).users.list_users()}

    @router.post("/users", summary="新增用户 / create a user (admin)")
    async def create_user(request: Request, body: NewUser, user: User = Depends(current_user)) -> dict[str, Any]:
        require_gateway(user, "users.manage")
        created = await gateway_of(request).users.create_user(
            body.username, body.password, body.role, body.display_name, dept_code=body.dept_code,
            delegate_id=body.delegate_id, group_id=body.group_id)
        return {"user": created.public()}

    @router.post("/users/{username}/password", summary="重设密码 / set a user's password (admin)")
    async def set_password(request: Request, username: str, password: str = Body(embed=True),
                           user: User = Depends(current_user)) -> dict[str, Any]:
        require_gateway(user, "users.manage")
        await gateway_of(request).users.set_password(username, password)
        return {"username": username}

    @router.post("/users/{username}/active", summary="启用/停用用户 / enable or disable a user (admin)")
    async def set_active(request: Request, username: str, active: bool = Body(embed=True),
                         user: User = Depends(current_user)) -> dict[str, Any]:
        require_gateway(user, "users.manage")
        await gateway_of(request).users.set_active(username, active)
        return {"username": username, "active": active}

    return router


def files_router() -> APIRouter:
    """Attachments in the object store, and exports of query results."""
    router = APIRouter(prefix=PREFIX)

    @router.post("/attachments", tags=["attachments"], status_code=201,
                 summary="上传附件 / attach a photo or document (JPEG/PNG/WebP/PDF/DOCX/XLSX)",
                 responses={413: {"description": "too large"}, 415: {"description": "type not allowed"}})
    async def upload(request: Request, file: UploadFile = File(...), user: User = Depends(current_user)
                     ) -> dict[str, Any]:
        require_gateway(user, "attachments.upload")
        return (await store_upload(request, file)).model_dump()

    @router.get("/attachments/{key}", tags=["attachments"], summary="下载附件 / download an attachment")
    async def download(request: Request, key: str, user: User = Depends(current_user)) -> Response:
        require_gateway(user, "attachments.read")
        if len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
            raise NotFound("没有此附件 / no such attachment")
        data, kind, filename = await attachment_store(request).get(key)
        return Response(data, media_type=kind, headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{_quote(filename)}",
            "X-Content-Type-Options": "nosniff"})

    @router.post("/ingest/{kind}", tags=["department input"],
                 summary="责任单位报送 / department input (progress, receipt, reply) as the user's department",
                 responses={202: {"description": "stored; the service's result is not in yet"}})
    async def department_input(request: Request, kind: str, body: dict[str, Any] = Body(...),
                               user: User = Depends(current_user)) -> Response:
        require_gateway(user, "department.input")
        gateway = gateway_of(request)
        await gateway.attachments.check_references(body.get("attachments"))
        status, result = await department.submit(gateway.nc, user, kind, body, gateway.settings.rpc_timeout_s)
        return JSONResponse(result, status_code=status)

    @router.get("/export/{group}/{name}.{fmt}", tags=["exports"],
                summary="导出 / export a query's rows as CSV or XLSX (same parameters as the query)")
    async def export(request: Request, group: str, name: str, fmt: str, lang: str = "zh",
                     user: User = Depends(current_user)) -> Response:
        route = gateway_of(request).catalog.query(group, name)
        if route is None or fmt not in ("csv", "xlsx"):
            raise NotFound("没有此导出 / no such export")
        payload = params_payload(route, request.query_params, skip={"lang"})
        reply = await exports.every_page(
            lambda body: gateway_of(request).send(user, route, body, correlation_id(request)), payload, route.model)
        lang = lang_of(lang)
        filename = f"{group}-{name}.{fmt}"
        data, media = ((exports.to_csv(reply, lang), exports.CSV_TYPE) if fmt == "csv"
                       else (exports.to_xlsx(reply, lang, f"{group}-{name}"), exports.XLSX_TYPE))
        return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    return router


def attachment_store(request: Request) -> AttachmentStore:
    """The attachment bucket of the app's gateway (created on first use)."""
    return gateway_of(request).attachments


async def store_upload(request: Request, file: UploadFile) -> Any:
    """Read an uploaded file (at most the limit plus one byte) and store it."""
    gw = gateway_of(request).gw
    data = await file.read(gw.upload_max_bytes + 1)
    return await attachment_store(request).put(data, file.filename or "", gw)


def params_payload(route: Route, params: Any, skip: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    """A query's body from URL parameters, validated as its model (lists from repeated parameters)."""
    raw: dict[str, Any] = {}
    for key in params:
        if key in skip:
            continue
        field = route.model.model_fields.get(key)
        many = field is not None and str(field.annotation).startswith(("list", "typing.List"))
        raw[key] = params.getlist(key) if many else params.get(key)
    try:
        return route.model.model_validate(raw).model_dump(mode="json", exclude_unset=True)
    except Exception as exc:  # pydantic.ValidationError: same body as every validation error
        details = validation_details(exc) if hasattr(exc, "errors") else str(exc)
        raise ValidationFailed("请求内容有误 / invalid request", details) from exc


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


__all__ = ["GatewayError", "auth_router", "catalog_router", "files_router"]
