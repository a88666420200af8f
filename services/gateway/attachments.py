"""Photos and documents in the NATS Object Store, content-addressed by sha256, with size and type limits."""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Any

import nats.js.errors
from nats.js.api import ObjectMeta

from services.gateway.config import GatewaySettings
from services.gateway.errors import GatewayError
from shared.contracts.gateway import Attachment
from shared.errors import NotFound, ValidationFailed

_ZIP_KINDS = {  # office documents are zip files: told apart by their main part
    "word/document.xml": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/workbook.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def sniff(data: bytes) -> str | None:
    """The real type of a file from its first bytes (what the client claims is not trusted)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except zipfile.BadZipFile:
            return None
        return next((kind for part, kind in _ZIP_KINDS.items() if part in names), "application/zip")
    return None


def check_upload(data: bytes, gw: GatewaySettings) -> str:
    """The file's type if it is allowed; a clear error otherwise."""
    if not data:
        raise GatewayError("validation", 422, "文件为空 / the file is empty", [{"field": "file", "message": "empty"}])
    if len(data) > gw.upload_max_bytes:
        limit_mb = gw.upload_max_bytes / 1024 / 1024
        raise GatewayError("payload_too_large", 413, f"文件超过 {limit_mb:g} MB / file larger than {limit_mb:g} MB",
                           {"max_bytes": gw.upload_max_bytes, "size": len(data)})
    kind = sniff(data)
    if kind not in gw.upload_types:
        raise GatewayError("unsupported_media_type", 415,
                           "只能上传照片（JPEG/PNG/WebP）或文档（PDF/Word/Excel） / "
                           "only photos (JPEG/PNG/WebP) or documents (PDF/Word/Excel) may be attached",
                           {"detected": kind, "allowed": list(gw.upload_types)})
    return kind


class AttachmentStore:
    """The object-store bucket of attachments."""

    def __init__(self, js: Any, bucket: str) -> None:
        self.js, self.bucket = js, bucket
        self._store: Any = None

    async def _obs(self) -> Any:
        if self._store is None:
            try:
                self._store = await self.js.object_store(self.bucket)
            except nats.js.errors.BucketNotFoundError:
                self._store = await self.js.create_object_store(self.bucket)
        return self._store

    async def put(self, data: bytes, filename: str, gw: GatewaySettings) -> Attachment:
        """Check and store a file; storing the same content twice keeps one copy."""
        kind = check_upload(data, gw)
        sha = hashlib.sha256(data).hexdigest()
        obs = await self._obs()
        try:
            await obs.get_info(sha)
        except nats.js.errors.ObjectNotFoundError:
            await obs.put(sha, data, meta=ObjectMeta(name=sha, description=filename[:200],
                                                     headers={"Content-Type": kind}))
        return Attachment(key=sha, size=len(data), content_type=kind, sha256=sha, filename=filename[:200])

    async def check_references(self, refs: Any) -> None:
        """Refuse references to files this store does not hold (or holds with another size)."""
        if not isinstance(refs, list) or not refs:
            return
        obs = await self._obs()
        problems = []
        for i, ref in enumerate(refs):
            key = ref.get("key") if isinstance(ref, dict) else None
            if not isinstance(key, str):
                continue  # malformed: the contract's validation names it
            try:
                info = await obs.get_info(key)
            except (nats.js.errors.ObjectNotFoundError, nats.js.errors.BadObjectMetaError):
                problems.append({"field": f"attachments.{i}.key",
                                 "message": "附件未上传或已删除，请重新上传 / no such uploaded file: upload it again"})
                continue
            if ref.get("size") != info.size:
                problems.append({"field": f"attachments.{i}.size",
                                 "message": f"附件大小与已上传文件不符（应为 {info.size}） / size differs from the stored "
                                            f"file ({info.size})"})
        if problems:
            raise ValidationFailed("附件引用无效 / attachment references are not valid", problems)

    async def get(self, key: str) -> tuple[bytes, str, str]:
        """(content, type, original file name) of a stored file."""
        obs = await self._obs()
        try:
            result = await obs.get(key)
        except nats.js.errors.ObjectNotFoundError as exc:
            raise NotFound("没有此附件 / no such attachment") from exc
        data = result.data or b""
        return data, sniff(data) or "application/octet-stream", result.info.description or key
