"""Frozen pydantic bases for commands and events, the event envelope, and the event registry."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

# A stream id is one NATS subject token: letters, digits, '-', '_' and ':' only.
STREAM_ID_PATTERN = r"^[A-Za-z0-9_:\-]{1,200}$"
_STREAM_ID_RE = re.compile(STREAM_ID_PATTERN)


_INT64 = range(-(2**63), 2**63)


def _unstorable(value: Any) -> str | None:
    """Why PostgreSQL could not take a value (as text, jsonb or a bigint parameter), or None."""
    if isinstance(value, str):
        return "文本不能含有空字符 (U+0000) / text must not contain the NUL character" if "\x00" in value else None
    if isinstance(value, int) and not isinstance(value, bool):
        return None if value in _INT64 else "整数超出范围 / integer out of the 64-bit range"
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, (list, tuple, set, frozenset)):
        return next((why for v in value if (why := _unstorable(v))), None)
    return None


class Contract(BaseModel):
    """Immutable, strict-about-unknown-fields base of every message."""

    # No inf/NaN: PostgreSQL's jsonb refuses them, so they would fail at storage, not validation.
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    @field_validator("*")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        # PostgreSQL cannot hold U+0000 in text or jsonb, nor bind an integer beyond 64 bits (an
        # unbounded `offset`, say): refuse such input as invalid rather than fail storing or querying it.
        if why := _unstorable(value):
            raise ValueError(why)
        return value


class Command(Contract):
    """A request to change state, named in the imperative (RegisterVotedProject)."""

    name: ClassVar[str]  # last token of the command subject


class Query(Contract):
    """A request to read a view."""

    name: ClassVar[str]


class Event(Contract):
    """Something that happened, named in the past tense (ProjectVoted)."""

    type: ClassVar[str]
    schema_version: ClassVar[int] = 1


def personal(description: str = "", **kwargs: Any) -> Any:
    """A field holding personal data: gateway and views hide it from roles that need not see it."""
    return Field(description=description, json_schema_extra={"personal_data": True}, **kwargs)


def is_valid_stream_id(stream_id: str) -> bool:
    """Whether a stream id can stand as one subject token."""
    return bool(_STREAM_ID_RE.match(stream_id))


class EventEnvelope(BaseModel):
    """An event as stored and published: metadata plus the validated body as a dict."""

    model_config = ConfigDict(frozen=True)

    event_id: UUID
    type: str
    schema_version: int
    stream_id: str
    version: int
    occurred_at: AwareDatetime  # business time: when it happened in the world
    recorded_at: AwareDatetime  # when the system stored it
    actor: str
    correlation_id: str
    causation_id: str | None = None
    body: dict[str, Any]
    # Set by the store on read: the position in its event table; not part of the wire form.
    position: int | None = Field(default=None, exclude=True)


E = TypeVar("E", bound=type[Event])
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(LookupError):
    """No event class or upcaster is registered for a (type, schema_version)."""


class EventRegistry:
    """Event classes keyed by (type, schema_version), with upcasters from older versions."""

    def __init__(self) -> None:
        self._classes: dict[tuple[str, int], type[Event]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, cls: E) -> E:
        """Class decorator: make an event class decodable."""
        key = (cls.type, cls.schema_version)
        if key in self._classes and self._classes[key] is not cls:
            raise ValueError(f"event {key} registered twice")
        self._classes[key] = cls
        return cls

    def upcaster(self, type_: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator: a function turning a body of `from_version` into one of `from_version + 1`."""

        def wrap(fn: Upcaster) -> Upcaster:
            self._upcasters[(type_, from_version)] = fn
            return fn

        return wrap

    def event_class(self, type_: str, schema_version: int) -> type[Event] | None:
        """The class registered for exactly this (type, schema_version), if any."""
        return self._classes.get((type_, schema_version))

    def knows(self, type_: str) -> bool:
        """Whether any version of this event type is registered."""
        return any(t == type_ for t, _ in self._classes)

    def decode(self, type_: str, schema_version: int, body: dict[str, Any]) -> Event:
        """Validate a stored body into its event class, upcasting old versions first."""
        version = schema_version
        while (type_, version) not in self._classes:
            step = self._upcasters.get((type_, version))
            if step is None:
                raise UnknownEventType(f"no event class or upcaster for {type_} v{version}")
            body, version = step(body), version + 1
        return self._classes[(type_, version)].model_validate(body)

    def decode_envelope(self, envelope: EventEnvelope) -> Event:
        """The typed event of an envelope."""
        return self.decode(envelope.type, envelope.schema_version, envelope.body)


def personal_fields(cls: type[Contract]) -> set[str]:
    """Names of the fields a contract marks as personal data."""
    return {name for name, f in cls.model_fields.items()
            if isinstance(f.json_schema_extra, dict) and f.json_schema_extra.get("personal_data")}


# The one registry every service's events are registered in.
registry = EventRegistry()

