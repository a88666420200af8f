"""Settings of every Huimin process, read from the environment (prefix HUIMIN_, plus NATS_URL/DATABASE_URL)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """One settings class for all services; each field documents its environment variable."""

    model_config = SettingsConfigDict(env_prefix="HUIMIN_", extra="ignore")

    # Unset means "start an embedded server" (shared.runtime.embedded).
    nats_url: str | None = Field(default=None, validation_alias=AliasChoices("NATS_URL", "HUIMIN_NATS_URL"))
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "HUIMIN_DATABASE_URL")
    )
    data_dir: Path = Path(".huimin")
    log_level: str = "info"
    log_format: str = "auto"  # auto | json | console
    display_timezone: str = "Asia/Shanghai"

    rpc_timeout_s: float = 5.0
    rpc_max_workers: int = 16
    db_pool_min: int = 1
    db_pool_max: int = 10
    # Commands must not hang when PostgreSQL is away: acquiring a connection gives up after this.
    db_acquire_timeout_s: float = 2.0
    # A long-open transaction holds back every xid8 cursor reader (REFERENCE.md): cap it.
    db_idle_in_transaction_timeout_ms: int = 10_000

    events_duplicate_window_s: float = 600.0
    # Copies of each stream kept by a NATS cluster (3 in infra/cluster; 1 on a single server).
    stream_replicas: int = 1
    # Port of the process's own /metrics, /healthz and /readyz (shared/metrics.py); unset: none.
    metrics_port: int | None = None
    relay_poll_interval_s: float = 1.0
    relay_batch_size: int = 500
    relay_puback_timeout_s: float = 5.0
    # The relay's checkpoint commits without a WAL flush: a crash of PostgreSQL can only make it
    # publish again the events of its last ~0.6 s, dropped by the duplicate window (shared/outbox.py).
    # Set (HUIMIN_RELAY_DURABLE_CHECKPOINT=1) if PostgreSQL may stay down longer than that window.
    relay_durable_checkpoint: bool = False
    # After a short batch the relay waits this long before reading again, so commits arriving one by
    # one are read and published a few at a time (HUIMIN_RELAY_LINGER_S; 0 = read again at once).
    relay_linger_s: float = Field(default=0.005, ge=0, le=1)

    projection_batch_size: int = 200
    # Events fetched and applied in one transaction by a rebuild (HUIMIN_PROJECTION_REBUILD_BATCH_SIZE):
    # larger than live batches, as they group more writes per round trip (issue #10: 1000 vs 200, ~+15%).
    projection_rebuild_batch_size: int = Field(default=1000, ge=1, le=10_000)
    projection_fetch_timeout_s: float = 1.0
    # A service's copy of other services' events (shared/service.py follow_events) waits this long after
    # a short batch before fetching again, so a steady trickle is applied a few events per transaction
    # rather than one (HUIMIN_COPY_LINGER_S; 0 = fetch at once). The projection waits less: staff read it.
    copy_linger_s: float = Field(default=0.02, ge=0, le=1)
    projection_linger_s: float = Field(default=0.01, ge=0, le=1)
    projection_nak_delay_s: float = 2.0
    projection_gap_delay_s: float = 5.0

    # Department input (shared/ingest.py): messages fetched and committed together in one transaction
    # (HUIMIN_INGEST_BATCH), and how long an idle consumer waits for the first one of a batch.
    ingest_batch: int = Field(default=100, ge=1, le=1000)
    ingest_fetch_timeout_s: float = 1.0

    # Supervision view: points behind plan for amber / red, days without a report before it is stale.
    schedule_amber_points: float = 10
    schedule_red_points: float = 30
    stale_report_days: int = 30
    # Performance record (履职档案): points per item, shown next to the score so a delegate can check it.
    performance_rubric: dict[str, float] = {
        "present": 2.0,  # 出席活动
        "excused": 0.0,  # 请假
        "absent": -1.0,  # 缺席
        "walk_in": 1.0,  # 未受邀参加
        "contact_log": 1.0,  # 联系点走访记录
        "contact_duty": 2.0,  # 承担项目联系责任
        "opinion": 2.0,  # 提出建议意见
        "opinion_adopted": 1.0,  # 建议被采纳或部分采纳 (加分)
        "evaluation_vote": 1.0,  # 参加满意度测评
    }
    # A message delivered to a consumer that crashed comes back only after this; until then later
    # events of its streams wait as gaps. Lower means faster recovery, but a batch must finish in it.
    consumer_ack_wait_s: float = 30.0

    # HMAC key of the activities' check-in codes (HUIMIN_ACTIVITIES_CHECKIN_SECRET): set it in production.
    activities_checkin_secret: str = "huimin-dev-checkin-secret"

    # Feedback (代表建议和意见): default answer period, reminder lead time, rounds, deadline sweep.
    feedback_due_days: int = Field(default=30, ge=1, le=365)
    feedback_reminder_days: int = Field(default=3, ge=0, le=60)
    feedback_max_rounds: int = Field(default=2, ge=1, le=5)  # 不满意 reopens until this round
    feedback_sweep_interval_s: float = 300.0


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
