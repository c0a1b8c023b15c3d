"""Settings of the influencer service (environment variables prefixed `G3N_IFM_`)."""

from g3n_kit.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="G3N_IFM_", extra="ignore")

    service: str = "influencer"
    database_url: str = "postgresql://influencer@127.0.0.1:54329/influencer"
    http_port: int = 8010
    #: how often the scheduler releases matured earnings / expires holds (seconds)
    release_interval_s: float = Field(default=60.0, gt=0)
    hold_expiry_interval_s: float = Field(default=60.0, gt=0)
    #: consumer groups (a shadow deployment or a test can run under other names)
    scm_group: str = "ifm.scm"
    accounting_group: str = "ifm.accounting"
    #: a return whose order never gets attributed is kept parked this long, then purged
    parked_return_retention_days: int = Field(default=400, ge=1)
