"""Read models of the projection service, one module per view, found automatically.

A view module defines `VIEW` (the <view> of `huimin.qry.<view>.<name>`), `model` (a ReadModel)
and `QUERIES` (query class -> async function(conn, query) -> dict).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from shared.readmodel import ReadModel


def view_modules() -> list[ModuleType]:
    """Every view module, in name order."""
    return [importlib.import_module(f"{__name__}.{m.name}") for m in sorted(pkgutil.iter_modules(__path__),
                                                                           key=lambda m: m.name)]


VIEWS = view_modules()
READ_MODELS: list[ReadModel] = [v.model for v in VIEWS]
