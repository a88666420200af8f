"""Field problems of a command, collected while checking it and refused together (ValidationFailed).

Each problem is `{"field": ..., "message": "中文 / English"}`, plus a stable `code` where the service
names its reasons (the projects service does, docs/projects.md).
"""

from __future__ import annotations

from typing import Any

from shared.errors import ValidationFailed


def problem(field: str | None, zh: str, en: str, *, code: str | None = None) -> dict[str, Any]:
    """One problem of a field: Chinese first, English after ' / '."""
    item: dict[str, Any] = {"field": field}
    if code is not None:
        item["code"] = code
    item["message"] = f"{zh} / {en}"
    return item


class Problems:
    """Collects every problem of a command, so the caller hears of all of them at once."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, field: str | None, zh: str, en: str, *, code: str | None = None) -> None:
        """Note one problem of a field."""
        self.items.append(problem(field, zh, en, code=code))

    def raise_if_any(self, zh: str, en: str) -> None:
        """Refuse the command (ValidationFailed) with every problem noted, if any."""
        if self.items:
            raise ValidationFailed(f"{zh} / {en}", self.items)
