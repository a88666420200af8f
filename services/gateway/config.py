"""Settings of the gateway only (prefix HUIMIN_GATEWAY_); shared settings stay in shared.config."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

# What may be attached to progress reports, inspections and contact logs: photos and office documents.
DEFAULT_UPLOAD_TYPES = (
    "image/jpeg", "image/png", "image/webp", "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)


class GatewaySettings(BaseSettings):
    """HTTP listener, sessions, login throttling and upload limits."""

    model_config = SettingsConfigDict(env_prefix="HUIMIN_GATEWAY_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    # Secure cookies need HTTPS; a deployment behind TLS sets this to true.
    cookie_secure: bool = False
    session_ttl_s: int = 12 * 3600
    # argon2id cost; unset: the library's recommendation (stored hashes are upgraded at the next login).
    argon2_time_cost: int | None = None
    argon2_memory_kib: int | None = None
    # Login throttling: this many failures per user name or per client address within the window.
    login_max_failures: int = 5
    login_window_s: int = 300
    upload_max_bytes: int = 10 * 1024 * 1024
    upload_types: tuple[str, ...] = DEFAULT_UPLOAD_TYPES
    attachments_bucket: str = "huimin-attachments"
    # /readyz fails when the projection is further behind the event stream than this.
    max_projection_lag: int = 1000
    default_year: int | None = None  # the dashboard's year when none is chosen (default: this year)

    @property
    def url(self) -> str:
        """Where the dashboard answers."""
        return f"http://{self.host}:{self.port}/"


@lru_cache(maxsize=1)
def get_gateway_settings() -> GatewaySettings:
    """The process-wide gateway settings, read once."""
    return GatewaySettings()
