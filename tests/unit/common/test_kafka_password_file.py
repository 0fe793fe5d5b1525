"""The Kafka password can come from a mounted file, as Strimzi publishes a KafkaUser's."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from kintsugi.common.kafka_settings import KafkaSettings

SCRAM = {
    "security_protocol": "SASL_SSL",
    "sasl_mechanism": "SCRAM-SHA-512",
    "sasl_username": "kintsugi-router",
}


def test_the_password_is_read_from_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cret-from-strimzi", encoding="utf-8")  # Strimzi writes no newline
    settings = KafkaSettings(**SCRAM, sasl_password_file=secret)
    assert settings.client_options()["sasl_plain_password"] == "s3cret-from-strimzi"


def test_a_trailing_newline_is_not_part_of_the_password(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("pw\n", encoding="utf-8")
    settings = KafkaSettings(**SCRAM, sasl_password_file=secret)
    assert settings.sasl_password is not None
    assert settings.sasl_password.get_secret_value() == "pw"


def test_the_file_is_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "password"
    secret.write_text("from-env-file", encoding="utf-8")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "kintsugi-sla")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD_FILE", str(secret))
    settings = KafkaSettings()
    assert settings.client_options()["sasl_plain_password"] == "from-env-file"


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "cannot read"), ("", "is empty"), ("\n", "is empty")],
)
def test_a_missing_or_empty_file_is_refused_naming_the_setting(
    tmp_path: Path, content: str | None, problem: str
) -> None:
    secret = tmp_path / "password"
    if content is not None:
        secret.write_text(content, encoding="utf-8")
    with pytest.raises(ValidationError, match=f"KAFKA_SASL_PASSWORD_FILE: .*{problem}"):
        KafkaSettings(**SCRAM, sasl_password_file=secret)


def test_password_and_password_file_together_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("a", encoding="utf-8")
    with pytest.raises(ValidationError, match="not both"):
        KafkaSettings(**SCRAM, sasl_password="b", sasl_password_file=secret)
