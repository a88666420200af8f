"""Query handlers and the rebuild command of the projection service."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from services.projection.runner import ProjectionRunner
from services.projection.views import VIEWS
from shared.contracts.projection import RebuildReadModels
from shared.errors import Conflict, Unavailable
from shared.rpc import RequestContext
from shared.service import ServiceRuntime
from shared.subjects import command_subject, query_subject


def register(rt: ServiceRuntime, runner: "RunnerRef") -> None:
    """Attach every query handler and the rebuild command to the runtime."""

    for view in VIEWS:
        for query_cls, answer in view.QUERIES.items():
            rt.rpc.handle(query_subject(view.VIEW, query_cls.name), query_cls)(_reader(rt, answer))

    # A rebuild replays the whole history: its caller (`huimin rebuild`) waits up to an hour.
    @rt.rpc.handle(command_subject("projection", RebuildReadModels.name), RebuildReadModels, timeout_s=3600)
    async def rebuild(cmd: RebuildReadModels, ctx: RequestContext) -> dict[str, Any]:
        if runner.current is None or not runner.current.active:
            raise Conflict("本实例不是当前投影实例 / this instance is not the active projection runner")
        return await runner.current.rebuild()


def _reader(rt: ServiceRuntime, answer: Any) -> Any:
    async def read(q: Any, ctx: RequestContext) -> dict[str, Any]:
        async with read_models(rt) as conn:
            return await answer(conn, q)

    read.__name__ = answer.__name__
    return read


@contextlib.asynccontextmanager
async def read_models(rt: ServiceRuntime) -> AsyncIterator[asyncpg.Connection]:
    """A connection for reading the live read models; before their first build, `unavailable`."""
    assert rt.pool is not None
    async with rt.pool.acquire() as conn:
        try:
            yield conn
        except asyncpg.UndefinedTableError as exc:
            raise Unavailable("数据视图正在生成，请稍后再试 / read models are being built, retry shortly") from exc


class RunnerRef:
    """The runner of this process, created once connections exist."""

    current: ProjectionRunner | None = None
