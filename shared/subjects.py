"""Every NATS subject and JetStream stream name of Huimin, defined once (DESIGN.md §4)."""

from __future__ import annotations

EVENTS_STREAM = "HUIMIN_EVENTS"
INGEST_STREAM = "HUIMIN_INGEST"

EVENTS_PREFIX = "huimin.evt"
INGEST_PREFIX = "huimin.ingest"
INGEST_RESULT_PREFIX = "huimin.ingest.result"


def command_subject(service: str, command: str) -> str:
    """Subject a command is requested on: huimin.cmd.<service>.<command>."""
    return f"huimin.cmd.{service}.{command}"


def query_subject(view: str, name: str) -> str:
    """Subject a query is requested on: huimin.qry.<view>.<name>."""
    return f"huimin.qry.{view}.{name}"


def event_subject(service: str, aggregate_id: str, event_type: str) -> str:
    """Subject an event is published on: huimin.evt.<service>.<aggregate_id>.<EventType>."""
    return f"{EVENTS_PREFIX}.{service}.{aggregate_id}.{event_type}"


def events_wildcard(service: str | None = None) -> str:
    """All event subjects, or those of one service."""
    return f"{EVENTS_PREFIX}.{service}.>" if service else f"{EVENTS_PREFIX}.>"


def ingest_subject(dept_code: str, kind: str) -> str:
    """Subject a department publishes its input on: huimin.ingest.<dept_code>.<kind>."""
    return f"{INGEST_PREFIX}.{dept_code}.{kind}"


def ingest_result_subject(dept_code: str) -> str:
    """Subject the result of a department's message is published on."""
    return f"{INGEST_RESULT_PREFIX}.{dept_code}"


def health_subject(service: str) -> str:
    """Subject a service answers its readiness on (NATS and PostgreSQL connectivity)."""
    return f"huimin.sys.{service}.health"
