"""A claim's fingerprint is stored on the ledger: it must not change between versions."""

from __future__ import annotations

import dataclasses
import hashlib
import json

from hypothesis import given
from hypothesis import strategies as st

from services.intake.domain.fingerprint import _plain, fingerprint
from tests.unit.intake.factories import a_customer, a_submission


def _as_first_released(request: object) -> bytes:
    body = {"type": type(request).__name__, "fields": dataclasses.asdict(request)}  # type: ignore[call-overload]
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=_plain)
    return hashlib.sha256(canonical.encode()).digest()


@given(
    st.text(max_size=40),
    st.text(max_size=40),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
)
def test_the_fingerprint_is_the_one_first_released(
    description: str, name: str, attributes: dict[str, str]
) -> None:
    submission = a_submission(
        description=description, customer=a_customer(display_name=name), attributes=attributes
    )
    assert fingerprint(submission) == _as_first_released(submission)
