"""What makes two requests "the same content": a digest of their normalised fields."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime
from typing import Any


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def fingerprint(request: Any) -> bytes:
    """SHA-256 of a (normalised) request dataclass: equal exactly when every field is equal,
    attribute order and whitespace trimmed by the adapters aside."""
    if not dataclasses.is_dataclass(request) or isinstance(request, type):
        raise TypeError("fingerprint takes a dataclass instance")
    body = {"type": type(request).__name__, "fields": dataclasses.asdict(request)}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=_plain)
    return hashlib.sha256(canonical.encode()).digest()
