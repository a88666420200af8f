"""The permission matrix, in one place: role × (service, command) / (view, query) / gateway action.

A rule maps each allowed role to a scope: ALL, or `own(field, attribute)` meaning the request's
`field` must be the user's own `attribute` (their delegate id, department code or group). An own
field left empty is filled in from the user; a list field must contain the user's own value.
A query naming one record by id only (a feedback item) is scoped by `Concerns`: the reply must name
the user's own value in one of the given fields, else it is withheld with a clear 403.
Routes without an explicit rule get the default of their kind. Personal fields (marked with
`personal()` in contracts, or nested under `personal` in read models) reach office and admin only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.gateway.catalog import Catalog, Route
from services.gateway.users import Role, User
from shared.errors import Forbidden

A, O, L, C, G, D, P, V = (Role.ADMIN, Role.OFFICE, Role.LEADER, Role.COMMITTEE, Role.GROUP_LEADER, Role.DELEGATE,
                          Role.DEPARTMENT, Role.VIEWER)


@dataclass(frozen=True)
class Own:
    """The request's `field` must equal the user's `attribute`."""

    field: str
    attribute: str  # "delegate_id" | "dept_code" | "group_id"


@dataclass(frozen=True)
class Concerns:
    """The reply must concern the user: one of `fields`, at any depth of it, holds (or lists) their `attribute`."""

    fields: tuple[str, ...]
    attribute: str  # "delegate_id" | "dept_code" | "group_id"
    message: str  # why it is withheld: "中文 / English"


ALL = None  # scope: anything the role's rule allows, unrestricted
Scope = Own | Concerns | None
Rule = Mapping[Role, Scope]


def own_delegate(field: str = "delegate_id") -> Own:
    """Scope to the user's own delegate record."""
    return Own(field, "delegate_id")


def own_department(field: str) -> Own:
    """Scope to the user's own department."""
    return Own(field, "dept_code")


def own_group(field: str = "group_id") -> Own:
    """Scope to the group the user leads."""
    return Own(field, "group_id")


def roles(*allowed: Role, scope: Scope = ALL) -> dict[Role, Scope]:
    """The same scope for several roles."""
    return {role: scope for role in allowed}


# Who sees personal data (phone, home location).
PERSONAL_DATA_ROLES = frozenset({A, O})
# Staff who enter the year's work.
WRITE_DEFAULT: Rule = roles(A, O)
# Who may read the read models in general; delegates and departments only what concerns them.
READ_DEFAULT: Rule = roles(A, O, L, C, G, V)

# Commands services build themselves (from department messages, events, their clock): never from HTTP.
NOT_EXPOSED: frozenset[tuple[str, str]] = frozenset({
    ("feedback", "acknowledge_feedback"), ("feedback", "answer_feedback"),
    ("feedback", "record_activity_opinion"), ("feedback", "check_deadlines"),
})

# Explicit rules where the defaults do not fit. Keys that no service defines (yet) are ignored.
_SELF = own_delegate()
COMMANDS: dict[tuple[str, str], Rule] = {
    # Departments report progress for themselves only (their code is the reporter).
    ("projects", "report_progress"): {**WRITE_DEFAULT, P: own_department("reported_by")},
    # Group leaders organise their own group's activities and run them on the day.
    ("activities", "schedule_activity"): {**WRITE_DEFAULT, G: own_group("group_ids")},
    ("activities", "issue_check_in_code"): roles(A, O, G),
    ("activities", "record_outcome"): roles(A, O, G),
    ("activities", "raise_opinions"): roles(A, O, G),
    # Delegates check in, log contacts, raise, rate and vote as themselves only.
    ("activities", "check_in"): {**WRITE_DEFAULT, D: _SELF, G: _SELF},
    ("activities", "log_contact"): {**WRITE_DEFAULT, D: _SELF, G: _SELF},
    ("feedback", "submit_feedback"): {**WRITE_DEFAULT, D: own_delegate("raised_by"), G: own_delegate("raised_by")},
    ("feedback", "rate_feedback"): {**WRITE_DEFAULT, D: own_delegate("rated_by"), G: own_delegate("rated_by")},
    ("feedback", "cast_evaluation_vote"): {**WRITE_DEFAULT, D: _SELF, G: _SELF},
    ("feedback", "sweep_deadlines"): roles(A, O),
    ("projection", "rebuild"): roles(A),
}

_PUBLIC = {**READ_DEFAULT, D: ALL, P: ALL}  # the year's projects, registries and assignments are public
QUERIES: dict[tuple[str, str], Rule] = {
    ("projects", "list"): {**READ_DEFAULT, D: ALL, P: own_department("lead_unit")},
    ("projects", "get"): _PUBLIC,
    ("projects", "departments"): _PUBLIC,
    ("projects", "year"): _PUBLIC,
    ("delegates", "get"): {**READ_DEFAULT, D: _SELF},
    ("delegates", "groups"): {**READ_DEFAULT, D: ALL},
    ("delegates", "leaders"): _PUBLIC,
    ("delegates", "committees"): _PUBLIC,
    ("delegates", "supervision"): _PUBLIC,
    ("delegates", "suggest"): roles(A, O, L, C),
    ("activities", "list"): {**READ_DEFAULT, D: _SELF},
    ("activities", "get"): {**READ_DEFAULT, D: ALL},  # a delegate opens the activity to check in
    ("activities", "contact_points"): {**READ_DEFAULT, D: ALL},
    ("activities", "contact_logs"): {**READ_DEFAULT, D: _SELF},
    ("feedback", "list"): {**READ_DEFAULT, D: own_delegate("raised_by"), P: own_department("department")},
    # One item: a department opens what was forwarded to it (main or co-department, any round).
    ("feedback", "detail"): {**READ_DEFAULT,
                             P: Concerns(("main_department", "co_departments"), "dept_code",
                                         "此意见建议未交办给本单位，无权查看 / this feedback item was not forwarded to your "
                                         "department"),
                             D: Concerns(("raised_by",), "delegate_id",
                                         "只能查看本人提出的意见建议 / only feedback you raised")},
    ("supervision", "get"): _PUBLIC,
    ("board", "department"): {**READ_DEFAULT, P: own_department("dept_code")},
    ("record", "get"): {**READ_DEFAULT, D: _SELF},
}

# Gateway's own actions (not NATS routes).
GATEWAY: dict[str, Rule] = {
    "users.manage": roles(A),
    "department.input": roles(P),  # as their own department, on HUIMIN_INGEST
    "tokens.own": roles(A, O, L, C, G, D, P, V),
    "attachments.upload": roles(A, O, L, C, G, D, P),
    "attachments.read": roles(A, O, L, C, G, D, P, V),
}


def rule_for(route: Route) -> Rule:
    """The rule of a command or query route."""
    if route.kind == "command":
        return COMMANDS.get(route.key, WRITE_DEFAULT)
    return QUERIES.get(route.key, READ_DEFAULT)


def may(user: User, route: Route) -> bool:
    """Whether the user's role may use the route at all (scopes are checked on the request)."""
    return user.role in rule_for(route)


def may_gateway(user: User, action: str) -> bool:
    """Whether the user may do a gateway action."""
    return user.role in GATEWAY[action]


def require_gateway(user: User, action: str) -> None:
    """Forbidden unless the user may do the gateway action."""
    if not may_gateway(user, action):
        raise Forbidden("无权执行此操作 / not allowed for your role")


def authorize(user: User, route: Route, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload to send, own fields filled in; Forbidden if the role or scope does not allow it."""
    rule = rule_for(route)
    if user.role not in rule:
        raise Forbidden("无权执行此操作 / not allowed for your role",
                        {"role": str(user.role), "route": f"{route.kind} {route.group}.{route.name}"})
    scope = rule[user.role]
    if scope is ALL:
        return payload
    mine = getattr(user, scope.attribute)
    if not mine:
        raise Forbidden("账户未关联所需身份 / your account is not linked to a " + scope.attribute)
    if isinstance(scope, Concerns):
        return payload  # checked on the reply (`check_reply`)
    value = payload.get(scope.field)
    if value in (None, "", []):
        return {**payload, scope.field: [mine] if _is_list_field(route, scope.field) else mine}
    if (mine in value) if isinstance(value, list) else (value == mine):
        return payload
    raise Forbidden("只能处理本人/本单位的事项 / only your own records",
                    [{"field": scope.field, "message": "须为本人/本单位 / must be your own"}])


def check_reply(user: User, route: Route, reply: Any) -> None:
    """Forbidden if the role is scoped to replies that concern it and this one does not."""
    scope = rule_for(route).get(user.role)
    if isinstance(scope, Concerns) and not _names(reply, scope.fields, getattr(user, scope.attribute)):
        raise Forbidden(scope.message, {"route": f"{route.kind} {route.group}.{route.name}"})


def _names(data: Any, fields: tuple[str, ...], mine: str) -> bool:
    """Whether one of the fields, anywhere in the data, is `mine` or a list holding it."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in fields and (value == mine or (isinstance(value, list) and mine in value)):
                return True
            if _names(value, fields, mine):
                return True
        return False
    if isinstance(data, list):
        return any(_names(v, fields, mine) for v in data)
    return False


def _is_list_field(route: Route, name: str) -> bool:
    annotation = str(route.model.model_fields[name].annotation)
    return annotation.startswith("list")


def strip_personal(data: Any, personal_fields: frozenset[str]) -> Any:
    """The data without personal fields or `personal` sections, at any depth."""
    if isinstance(data, dict):
        return {k: strip_personal(v, personal_fields) for k, v in data.items()
                if k != "personal" and k not in personal_fields}
    if isinstance(data, list):
        return [strip_personal(v, personal_fields) for v in data]
    return data


def visible(user: User, data: Any, catalog: Catalog) -> Any:
    """What the user may see of a reply."""
    return data if user.role in PERSONAL_DATA_ROLES else strip_personal(data, catalog.personal_fields)


def check_matrix(catalog: Catalog) -> list[str]:
    """Problems of the matrix against the catalog: own-scopes naming fields the model lacks."""
    problems = []
    for table, kind in ((COMMANDS, "command"), (QUERIES, "query")):
        for key, rule in table.items():
            route = catalog.find(kind, *key)  # type: ignore[arg-type]
            if route is None:
                continue
            for role, scope in rule.items():
                if isinstance(scope, Own) and scope.field not in route.model.model_fields:
                    problems.append(f"{kind} {key}: {role} scoped on missing field {scope.field}")
    return problems
