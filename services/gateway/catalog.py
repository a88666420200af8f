"""Every command and query the gateway exposes, found at start from contracts and projection views.

Commands: each `Command` subclass in `shared.contracts.<module>` (module with `SERVICE`) becomes
`POST /api/v1/<service>/<name>` -> `huimin.cmd.<service>.<name>`. Queries: each view's `QUERIES`
becomes `/api/v1/views/<VIEW>/<name>` -> `huimin.qry.<VIEW>.<name>`; a `Query` subclass of a
contracts module that no view answers is answered by its write service on `huimin.qry.<SERVICE>.<name>`
and exposed the same way. Nothing here needs editing when a service grows.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal

from pydantic import BaseModel

import shared.contracts
from shared.contracts.base import Command, Contract, Query
from shared.subjects import command_subject, query_subject

Kind = Literal["command", "query"]


@dataclass(frozen=True)
class Route:
    """One command or query: its HTTP path, its model and the NATS subject it goes to."""

    kind: Kind
    group: str  # the service of a command; the view (or answering service) of a query
    name: str
    model: type[Contract]
    answered_by: str  # "projection" or the write service that answers it

    @property
    def subject(self) -> str:
        """The NATS subject of the request."""
        return command_subject(self.group, self.name) if self.kind == "command" else query_subject(self.group, self.name)

    @property
    def path(self) -> str:
        """The HTTP path under the API prefix."""
        return f"/{self.group}/{self.name}" if self.kind == "command" else f"/views/{self.group}/{self.name}"

    @property
    def key(self) -> tuple[str, str]:
        """(group, name): how the permission matrix names it."""
        return (self.group, self.name)

    @property
    def summary(self) -> str:
        """The first line of the model's docstring."""
        return (inspect.getdoc(self.model) or self.model.__name__).splitlines()[0]

    @property
    def scalar_fields(self) -> bool:
        """Whether every field fits in a URL query string (then GET is offered)."""
        return all(_is_scalar(f.annotation) for f in self.model.model_fields.values())


@dataclass
class Catalog:
    """The routes, and the names of fields holding personal data anywhere in the contracts."""

    routes: list[Route] = field(default_factory=list)
    personal_fields: frozenset[str] = frozenset()

    def commands(self) -> list[Route]:
        """Command routes."""
        return [r for r in self.routes if r.kind == "command"]

    def queries(self) -> list[Route]:
        """Query routes."""
        return [r for r in self.routes if r.kind == "query"]

    def find(self, kind: Kind, group: str, name: str) -> Route | None:
        """A route by kind and key, if the services define it (yet)."""
        return next((r for r in self.routes if r.kind == kind and r.key == (group, name)), None)

    def query(self, group: str, name: str) -> Route | None:
        """A query route by key."""
        return self.find("query", group, name)

    def command(self, group: str, name: str) -> Route | None:
        """A command route by key."""
        return self.find("command", group, name)


def contract_modules() -> list[ModuleType]:
    """The contracts modules that belong to a service (those defining SERVICE)."""
    found = []
    for info in sorted(pkgutil.iter_modules(shared.contracts.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{shared.contracts.__name__}.{info.name}")
        if isinstance(getattr(module, "SERVICE", None), str):
            found.append(module)
    return found


def _defined_in(module: ModuleType, base: type) -> list[type]:
    found = [cls for cls in vars(module).values()
             if inspect.isclass(cls) and issubclass(cls, base) and cls is not base
             and cls.__module__ == module.__name__ and isinstance(getattr(cls, "name", None), str)]
    # A class other requests derive from (ProjectCommand, ImportFile) is a shared base, not a request.
    return [cls for cls in found if not any(other is not cls and issubclass(other, cls) for other in found)]


def build_catalog(contracts: list[ModuleType] | None = None, views: list[ModuleType] | None = None,
                  hidden: frozenset[tuple[str, str]] = frozenset()) -> Catalog:
    """The catalog of the contracts and views present in this code base, less the `hidden` commands."""
    if contracts is None:
        contracts = contract_modules()
    if views is None:
        from services.projection.views import VIEWS  # the projection's own discovery, reused

        views = VIEWS
    routes: list[Route] = []
    answered_by_views: set[type] = set()
    for view in views:
        for query_cls in getattr(view, "QUERIES", {}):
            routes.append(Route("query", view.VIEW, query_cls.name, query_cls, "projection"))
            answered_by_views.add(query_cls)
    models: list[type[BaseModel]] = []
    for module in contracts:
        service = module.SERVICE
        for cls in _defined_in(module, Command):
            if (service, cls.name) not in hidden:
                routes.append(Route("command", service, cls.name, cls, service))
        for cls in _defined_in(module, Query):
            if cls not in answered_by_views:
                routes.append(Route("query", service, cls.name, cls, service))
        models += [c for c in vars(module).values() if inspect.isclass(c) and issubclass(c, BaseModel)]
    _check_unique(routes)
    routes.sort(key=lambda r: (r.kind, r.group, r.name))
    return Catalog(routes, frozenset(personal_field_names(models + [r.model for r in routes])))


def _check_unique(routes: list[Route]) -> None:
    seen: dict[tuple[str, str], Route] = {}
    for route in routes:
        key = (route.kind, route.path)
        if key in seen:
            raise ValueError(f"two {route.kind}s on {route.path}: {seen[key].model.__name__} and {route.model.__name__}")
        seen[key] = route


def personal_field_names(models: list[type[BaseModel]]) -> set[str]:
    """Names of fields marked personal (`personal()` in contracts) in any of the models."""
    names = set()
    for model in models:
        for name, info in model.model_fields.items():
            extra = info.json_schema_extra
            if isinstance(extra, dict) and extra.get("personal_data"):
                names.add(name)
    return names


def _is_scalar(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return all(_is_scalar(a) for a in typing.get_args(annotation) if a is not type(None))
    if origin is typing.Annotated:
        return _is_scalar(typing.get_args(annotation)[0])
    if origin is Literal:
        return True
    if origin in (list, tuple, set, frozenset):
        args = typing.get_args(annotation)
        return all(_is_scalar(a) and typing.get_origin(a) not in (list, tuple, set) for a in args if a is not Ellipsis)
    return inspect.isclass(annotation) and not issubclass(annotation, (BaseModel, dict))
