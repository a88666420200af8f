"""The FastAPI application: API, dashboard, health, metrics; NATS and PostgreSQL opened in the lifespan."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.gateway import api, errors
from services.gateway.core import Gateway
from services.gateway.web import pages
from shared.errors import HuiminError

STATIC = Path(__file__).parent / "static"


def create_app(gateway: Gateway, *, manage_lifespan: bool = True) -> FastAPI:
    """The app around a gateway; with `manage_lifespan` the app starts and stops it."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_lifespan:
            await gateway.start()
        try:
            yield
        finally:
            if manage_lifespan:
                await gateway.stop()

    app = FastAPI(
        title="惠民实事监督平台 Huimin API",
        version="1",
        description="Every command and query of the services, sent over NATS as the authenticated user. "
                    "Errors: `{code, message, details}` (validation 422, not_found 404, conflict 409, "
                    "forbidden 403, unavailable 503). Authenticate with the session cookie (and the "
                    "`X-CSRF-Token` header on changes) or `Authorization: Bearer hm_...`.",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.gateway = gateway
    app.add_exception_handler(HuiminError, _on_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, errors.on_request_validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http_error)  # type: ignore[arg-type]
    app.middleware("http")(_measure)
    app.include_router(api.auth_router())
    app.include_router(api.files_router())
    app.include_router(api.catalog_router(gateway.catalog))
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["ops"], summary="进程存活 / process alive")
    app.add_api_route("/readyz", readyz, methods=["GET"], tags=["ops"],
                      summary="就绪 / NATS, PostgreSQL and projection lag")
    app.add_api_route("/metrics", metrics, methods=["GET"], tags=["ops"], summary="Prometheus metrics")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(pages.router())
    return app


async def healthz() -> dict[str, Any]:
    """The process is alive and serving HTTP."""
    return {"status": "ok"}


async def readyz(request: Request) -> JSONResponse:
    """Ready when NATS and PostgreSQL answer and the projection keeps up."""
    report = await request.app.state.gateway.readiness()
    return JSONResponse(report, status_code=200 if report["ready"] else 503)


async def metrics(request: Request) -> Response:
    """Prometheus text format."""
    return Response(generate_latest(request.app.state.gateway.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _is_page(request: Request) -> bool:
    path = request.url.path
    return not path.startswith(("/api/", "/static/", "/healthz", "/readyz", "/metrics"))


async def _on_error(request: Request, exc: HuiminError) -> Response:
    if _is_page(request):
        return await pages.error_page(request, exc)
    return errors.error_response(exc)


async def _on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if _is_page(request) and exc.status_code == 404:
        return await pages.error_page(request, HuiminError("页面不存在 / page not found"), status=404)
    return await errors.on_http_error(request, exc)


async def _measure(request: Request, call_next: Any) -> Response:
    started = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    template = getattr(route, "path", "unmatched")
    m = request.app.state.gateway.metrics
    m.http.labels(request.method, template, str(response.status_code)).inc()
    m.latency.labels(request.method, template).observe(time.perf_counter() - started)
    return response
