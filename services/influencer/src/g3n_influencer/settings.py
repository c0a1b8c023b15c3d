"""Settings of the influencer service (environment variables prefixed `G3N_IFM_`)."""

from g3n_kit.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="G3N_IFM_", extra="ignore")

    service: str = "influencer"
    database_url: str = "postgresql://influencer@127.0.0.1:54329/influencer"
    http_port: int = 8010
