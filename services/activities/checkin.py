"""Per-activity check-in codes: an HMAC of the activity and its start, so a reschedule changes the code."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime


def check_in_code(secret: bytes, activity_id: str, starts_at: datetime) -> str:
    """The six-digit check-in code of an activity as scheduled."""
    message = f"{activity_id}|{starts_at.astimezone(UTC).isoformat()}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


def code_matches(secret: bytes, activity_id: str, starts_at: datetime, code: str) -> bool:
    """Whether a code given at check-in is the activity's (compared in constant time)."""
    return hmac.compare_digest(check_in_code(secret, activity_id, starts_at), code)
