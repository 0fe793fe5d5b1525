from __future__ import annotations

from datetime import time
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from kintsugi.common.settings import ServiceSettings


def _read_secret(field: str, path: Path) -> SecretStr:
    try:
        return SecretStr(path.read_text(encoding="utf-8").rstrip("\r\n"))
    except OSError as error:
        raise ValueError(f"{field}: cannot read {path}: {error.strerror}") from error


DEFAULT_STAFF_DIRECTORY = Path(__file__).parent / "staff.yaml"


class NotifierSettings(ServiceSettings):
    """Environment variables start with ``KINTSUGI_NOTIFIER_``."""

    model_config = SettingsConfigDict(env_prefix="KINTSUGI_NOTIFIER_", extra="ignore")

    ops_port: int = Field(default=9104, ge=0, le=65535)
    consumer_group: str = Field(default="kintsugi-notifier")
    organisation_name: str = Field(
        default="Kintsugi Financial", description="Who the customer is dealing with"
    )
    # Email
    smtp_host: str = Field(default="127.0.0.1")
    smtp_port: int = Field(default=2525, ge=1, le=65535)
    smtp_start_tls: bool = Field(default=False)
    smtp_use_tls: bool = Field(default=False, description="Implicit TLS (usually port 465)")
    smtp_username: str | None = Field(default=None)
    smtp_password: SecretStr | None = Field(default=None)
    smtp_password_file: Path | None = Field(
        default=None, description="File holding the SMTP password (a mounted Secret)"
    )
    smtp_ehlo_name: str | None = Field(default=None, description="Name sent in EHLO")
    smtp_from_address: str = Field(default="complaints@kintsugi.example")
    smtp_timeout_s: float = Field(
        default=10.0, gt=0, description="Each step of connecting; handing over one message"
    )
    smtp_max_connections: int = Field(default=8, ge=1, le=256)
    # HTTP gateways (SMS, chat, private social messages); a channel without a URL is off.
    sms_gateway_url: str | None = Field(default=None)
    chat_gateway_url: str | None = Field(default=None)
    social_gateway_url: str | None = Field(default=None)
    gateway_secret_file: Path | None = Field(
        default=None, description="File holding the HMAC key that signs gateway requests"
    )
    gateway_timeout_s: float = Field(default=10.0, gt=0)
    # Letters: a print-queue topic (created by the operator); unset, no letters.
    print_queue_topic: str | None = Field(default=None)
    # Delivery
    attempt_timeout_s: float = Field(
        default=10.0, gt=0, description="Longest one delivery attempt may hold a consumer"
    )
    retry_tick_s: float = Field(default=5.0, gt=0, description="How often due retries run")
    retry_first_backoff_s: float = Field(default=15.0, gt=0)
    retry_max_backoff_s: float = Field(default=600.0, gt=0)
    acknowledgement_horizon_h: float = Field(
        default=24.0, gt=0, description="How long an acknowledgement keeps being retried"
    )
    breaker_failures: int = Field(default=5, ge=1)
    breaker_cooldown_s: float = Field(default=30.0, gt=0)
    delay_notice_from_percent: int = Field(default=75, ge=1, le=99)
    # Progress updates only: never at night in the customer's time zone, at most N a day.
    quiet_from: time = Field(default=time(21, 0))
    quiet_until: time = Field(default=time(8, 0))
    progress_updates_per_day: int = Field(default=3, ge=1)
    # Executive review (rule 10): a sampled complaint's final and holding responses wait
    # for a reviewer's note on the complaint, or until this margin before their deadline.
    executive_review_margin_h: float = Field(
        default=24.0, ge=0, description="Hours before a response's deadline it goes unapproved"
    )
    executive_review_longest_hold_h: float = Field(
        default=24.0, gt=0, description="Longest hold when no regulatory deadline is known"
    )
    executive_reviewers: frozenset[str] = Field(
        default=frozenset({"exec.office"}),
        description="Staff ids whose note approves held responses (JSON list)",
    )
    # Staff messages (escalations, "call the customer"): handler id -> email, a YAML file.
    staff_directory_file: Path | None = Field(
        default=DEFAULT_STAFF_DIRECTORY,
        description="YAML mapping staff ids to email addresses (default: the example "
        "matching the router's shipped directory)",
    )

    @model_validator(mode="after")
    def _secrets_from_files(self) -> NotifierSettings:
        if self.smtp_password_file is not None:
            if self.smtp_password is not None:
                raise ValueError("smtp_password_file: set either it or smtp_password, not both")
            self.smtp_password = _read_secret("smtp_password_file", self.smtp_password_file)
        if self.retry_max_backoff_s < self.retry_first_backoff_s:
            raise ValueError("retry_max_backoff_s: must be at least retry_first_backoff_s")
        return self

    def gateway_secret(self) -> bytes:
        if self.gateway_secret_file is None:
            raise ValueError("gateway_secret_file: required when a gateway URL is set")
        return (
            _read_secret("gateway_secret_file", self.gateway_secret_file)
            .get_secret_value()
            .encode()
        )

    def gateway_urls(self) -> dict[str, str]:
        urls = {
            "sms": self.sms_gateway_url,
            "chat": self.chat_gateway_url,
            "social_private": self.social_gateway_url,
            "social_public": self.social_gateway_url,
        }
        return {channel: url for channel, url in urls.items() if url}
