"""Demo data for `make up`: a realistic year of Jinghong, one module per service, loaded over NATS.

Each module `shared/demo/<service>.py` defines `ORDER` (load order) and `async load(client)`
returning counts; loading is safe to repeat (what exists is left as it is).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from shared.rpc import RpcClient


def modules() -> list[Any]:
    """The demo modules, in load order."""
    found = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)]
    return sorted(found, key=lambda m: m.ORDER)


async def load_all(client: RpcClient) -> dict[str, dict[str, int]]:
    """Load every service's demo data; return what each created."""
    return {m.__name__.rsplit(".", 1)[-1]: await m.load(client) for m in modules()}
