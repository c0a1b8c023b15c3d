"""Settings of the crm service (environment variables prefixed `G3N_CRM_`)."""

from g3n_kit.settings import ServiceSettings
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

DEV_GIFTCARD_SECRET = "g3n-dev-giftcard-code-secret-change-me"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="G3N_CRM_", extra="ignore")

    service: str = "crm"
    database_url: str = "postgresql://crm@127.0.0.1:54329/crm"
    http_port: int = 8020
    metrics_port_base: int = 9120
    # Key of the HMAC that gift card codes are stored under (G3N_CRM_GIFTCARD_CODE_SECRET).
    # Rotating it makes every issued code unfindable: keep it stable and secret in production.
    giftcard_code_secret: SecretStr = Field(default=SecretStr(DEV_GIFTCARD_SECRET), min_length=16)
    # Records per partition per poll of the SCM consumer (4 partitions are applied at once): 750
    # applies as fast as 1000 here with ~15 MB less peak RSS (bench/crm_consumer.py).
    consumer_max_batch: int = Field(default=750, ge=1, le=10_000)
    # Scheduled loyalty expiry: how often it runs and how many customers one run handles per chunk.
    expiry_interval_s: float = 60.0
    expiry_chunk: int = Field(default=500, ge=1, le=10_000)
    # The scheduled job books expiries this long after `expires_at`, so a sale that spent the
    # points at the till before they expired, but reaches the CRM late, still finds them.
    expiry_grace_s: float = Field(default=86_400.0, ge=0)

    @property
    def giftcard_secret_bytes(self) -> bytes:
        return self.giftcard_code_secret.get_secret_value().encode()
