"""Process settings from environment variables.

Each service subclasses `ServiceSettings` with its own prefix (`G3N_IFM_`, `G3N_CRM_`); the
Kafka bootstrap servers are shared by every service (`G3N_KAFKA_BOOTSTRAP`). Defaults match the
local stack that `./g3n dev up` starts.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    service: str = "service"
    database_url: str = "postgresql://postgres@127.0.0.1:54329/postgres"
    kafka_bootstrap: str = Field(
        default="127.0.0.1:9092", validation_alias=AliasChoices("G3N_KAFKA_BOOTSTRAP", "kafka_bootstrap")
    )
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    db_pool_min: int = 2
    db_pool_max: int = 10
    consumer_max_batch: int = Field(default=1000, ge=1, le=10_000)
    consumer_poll_ms: int = Field(default=200, ge=1)
    consumer_session_timeout_ms: int = Field(default=6_000, ge=1_000)
    # Applied batches' offsets are committed together at most this often (and on revoke/stop);
    # 0 commits after every batch. See g3n_kit.consumer.
    consumer_commit_interval_s: float = Field(default=1.0, ge=0, le=60)
    relay_batch: int = Field(default=1000, ge=1, le=10_000)
    relay_idle_ms: int = Field(default=50, ge=1)
    paging_secret: str = Field(
        default="g3n-dev-paging-secret",
        validation_alias=AliasChoices("G3N_PAGING_SECRET", "paging_secret"),
    )
    log_level: str = "INFO"
    # Garbage collector: start-up objects are frozen out of the collector's sight in every
    # process; a positive threshold also makes young-generation collections rarer (0 keeps
    # Python's 700). A consumer batch holds hundreds of thousands of objects: with the default
    # the cyclic collector re-walked them every few events (a quarter of the consumer's CPU).
    consumer_gc_threshold: int = Field(default=200_000, ge=0)
    http_gc_threshold: int = Field(default=0, ge=0)
    # Non-HTTP processes serve Prometheus metrics on metrics_port_base + 1 (consumer), + 2 (relay),
    # + 3 (scheduler); 0 turns that off. The HTTP process serves /metrics on its own port.
    metrics_port_base: int = 0
