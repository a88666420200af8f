"""What the gateway hands to other services' contracts: the reference to an attached file.

Photos and documents of progress reports, inspections and contact logs are stored in the NATS
Object Store by the gateway (`POST /api/v1/attachments`); events carry only this reference.
No SERVICE here: the gateway has no commands on NATS.
"""

from __future__ import annotations

from pydantic import Field

from shared.contracts.base import Contract


class Attachment(Contract):
    """A stored file: its object-store key, size, type and sha256 (the key is the sha256)."""

    key: str = Field(pattern=r"^[0-9a-f]{64}$", description="对象存储键 (= sha256)")
    size: int = Field(ge=1, description="字节数")
    content_type: str = Field(min_length=3, max_length=120, description="文件类型")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    filename: str = Field(default="", max_length=200, description="原文件名")
