"""Contracts: frozen messages, unknown fields refused, registry and upcasting."""

from __future__ import annotations

import pydantic
import pytest

from shared.contracts.base import Event, EventRegistry, UnknownEventType
from shared.contracts.projects import RegisterVotedProject
from shared.rpc import validation_details


class Renamed(Event):
    type = "Renamed"
    schema_version = 2
    full_name: str
    note: str


def make_registry() -> EventRegistry:
    reg = EventRegistry()
    reg.register(Renamed)

    @reg.upcaster("Renamed", 1)
    def v1_to_v2(body):
        return {"full_name": body["name"], "note": "upcast from v1"}

    return reg


def test_old_event_versions_are_upcast_on_decode():
    event = make_registry().decode("Renamed", 1, {"name": "岩温"})
    assert event == Renamed(full_name="岩温", note="upcast from v1")


def test_current_version_decodes_directly():
    assert make_registry().decode("Renamed", 2, {"full_name": "玉香", "note": "x"}).full_name == "玉香"


def test_unknown_type_or_version_is_an_error():
    reg = make_registry()
    with pytest.raises(UnknownEventType):
        reg.decode("Nope", 1, {})
    with pytest.raises(UnknownEventType):
        reg.decode("Renamed", 0, {})


def test_registering_two_classes_for_one_key_fails():
    reg = make_registry()

    class Other(Event):
        type = "Renamed"
        schema_version = 2

    with pytest.raises(ValueError):
        reg.register(Other)


def test_messages_are_frozen_and_refuse_unknown_fields():
    cmd = RegisterVotedProject(year=2026, code="01", title="项目一", category="教育", lead_unit="jyj",
                               votes_for=3, votes_against=0, votes_abstain=0, voted_on="2026-01-20")
    with pytest.raises(pydantic.ValidationError):
        cmd.title = "changed"  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError) as info:
        RegisterVotedProject.model_validate({**cmd.model_dump(), "extra": 1, "votes_for": -1})
    fields = {d["field"] for d in validation_details(info.value)}
    assert fields == {"extra", "votes_for"}
