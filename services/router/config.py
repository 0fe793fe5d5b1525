from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kintsugi.common.settings import ServiceSettings

DEFAULT_DIRECTORY = Path(__file__).parent / "directory.yaml"


class RouterSettings(ServiceSettings):
    """Environment variables start with ``KINTSUGI_ROUTER_``."""

    model_config = SettingsConfigDict(env_prefix="KINTSUGI_ROUTER_", extra="ignore")

    directory_file: Path = Field(
        default=DEFAULT_DIRECTORY, description="YAML file of teams and handlers"
    )
    ops_port: int = Field(default=9102, ge=0, le=65535)
    consumer_group: str = Field(default="kintsugi-router")
    absence_sweep_every_s: float = Field(
        default=60.0, gt=0, description="How often to look for owners absent too long"
    )
