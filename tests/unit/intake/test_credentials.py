"""The tokens file: hashes only, one source per hash, every bad line named."""

from __future__ import annotations

import hashlib

import pytest

from services.intake.domain.credentials import (
    TokenFileError,
    parse_token_hashes,
    source_of,
    token_hash,
)

CRM = token_hash("crm-secret")


def test_a_token_hash_is_the_sha256_hex_of_the_token() -> None:
    assert token_hash("crm-secret") == hashlib.sha256(b"crm-secret").hexdigest()


def test_each_hash_maps_to_its_source_and_a_source_may_hold_two_during_rotation() -> None:
    hashes = parse_token_hashes(
        f"# upstream sources\ncrm {CRM}  # current\ncrm {token_hash('next')}\n\n"
        f"webform {token_hash('w').upper()}\n",
        "tokens",
    )

    assert source_of("crm-secret", hashes) == "crm"
    assert source_of("next", hashes) == "crm"
    assert source_of("w", hashes) == "webform"
    assert source_of("crm-secret ", hashes) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("crm", "tokens:1: expected '<source_system> <sha256 hex>'"),
        (f"CRM {CRM}", "tokens:1: source_system 'CRM' is not a valid name"),
        ("crm crm-secret", "tokens:1: a SHA-256 hash is 64 hex characters"),
        (f"crm {CRM}\nwebform {CRM}", "tokens:2: hash already belongs to 'crm'"),
        ("# nobody\n", "tokens: no token hashes"),
    ],
)
def test_a_bad_file_is_refused_naming_the_line_and_rule(text: str, problem: str) -> None:
    with pytest.raises(TokenFileError, match=problem):
        parse_token_hashes(text, "tokens")


def test_every_bad_line_is_named_at_once() -> None:
    with pytest.raises(TokenFileError) as refused:
        parse_token_hashes("crm\nweb x\n", "tokens")

    assert "tokens:1" in str(refused.value) and "tokens:2" in str(refused.value)
