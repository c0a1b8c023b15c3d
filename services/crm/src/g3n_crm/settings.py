"""Settings of the crm service (environment variables prefixed `G3N_CRM_`)."""

from g3n_kit.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="G3N_CRM_", extra="ignore")

    service: str = "crm"
    database_url: str = "postgresql://crm@127.0.0.1:54329/crm"
    http_port: int = 8020
