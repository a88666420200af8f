"""What the gateway hands to other services' contracts: the reference to an attached file.

Photos and documents of progress reports, inspections and contact logs are stored in the NATS
Object Store by the gateway (`POST /api/v1/attachments`); events carry only this reference.
No SERVICE here: the gateway has no commands on NATS.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field

from shared.contracts.base import Contract

# At most this many files on one report, inspection outcome or contact log.
MAX_ATTACHMENTS = 20


class Attachment(Contract):
    """A stored file: its object-store key, size, type and sha256 (the key is the sha256)."""

    key: str = Field(pattern=r"^[0-9a-f]{64}$", description="对象存储键 (= sha256)")
    size: int = Field(ge=1, description="字节数")
    content_type: str = Field(min_length=3, max_length=120, description="文件类型")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    filename: str = Field(default="", max_length=200, description="原文件名")


def _distinct_and_addressed(items: list[Attachment]) -> list[Attachment]:
    """The list unchanged when every file is stored under its own sha256 and none is repeated."""
    for i, a in enumerate(items):
        if a.key != a.sha256:
            raise ValueError(f"第 {i + 1} 个附件的键与 sha256 不一致（附件须先通过 POST /api/v1/attachments 上传） / "
                             f"attachment {i + 1}: key differs from sha256 (upload it first: POST /api/v1/attachments)")
    keys = [a.key for a in items]
    if len(set(keys)) != len(keys):
        raise ValueError("同一附件重复 / the same attachment is listed twice")
    return items


_SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
_EXAMPLE = {"key": _SHA, "size": 48213, "content_type": "image/jpeg", "sha256": _SHA, "filename": "现场照片.jpg"}

# The attachments of a command or event: references from the gateway's upload, old events have none.
Attachments = Annotated[list[Attachment], AfterValidator(_distinct_and_addressed)]


def attachments_field() -> Any:
    """The `attachments` field of a contract: empty by default, at most MAX_ATTACHMENTS files."""
    return Field(default_factory=list, max_length=MAX_ATTACHMENTS, description="附件", examples=[[_EXAMPLE]])
