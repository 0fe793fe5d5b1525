from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from kintsugi.common.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    """Environment variables start with ``KINTSUGI_NOTIFIER_``."""

    model_config = SettingsConfigDict(env_prefix="KINTSUGI_NOTIFIER_", extra="ignore")

    ops_port: int = Field(default=9104, ge=0, le=65535)
    consumer_group: str = Field(default="kintsugi-notifier")
    organisation_name: str = Field(
        default="Kintsugi Financial", description="Who the customer is dealing with"
    )
    smtp_host: str = Field(default="127.0.0.1")
    smtp_port: int = Field(default=2525, ge=1, le=65535)
    smtp_start_tls: bool = Field(default=False)
    smtp_username: str | None = Field(default=None)
    smtp_password: SecretStr | None = Field(default=None)
    smtp_from_address: str = Field(default="complaints@kintsugi.example")
