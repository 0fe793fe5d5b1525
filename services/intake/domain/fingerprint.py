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


def _fields(value: Any) -> Any:
    """What ``dataclasses.asdict`` gives, without its deep copy of every leaf (a third of
    a fingerprint's cost): the digest of stored claims must not change."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _fields(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_fields(item) for item in value]
    if isinstance(value, dict):
        return {key: _fields(item) for key, item in value.items()}
    return value


def fingerprint(request: Any) -> bytes:
    """SHA-256 of a (normalised) request dataclass: equal exactly when every field is equal,
    attribute order and whitespace trimmed by the adapters aside."""
    if not dataclasses.is_dataclass(request) or isinstance(request, type):
        raise TypeError("fingerprint takes a dataclass instance")
    body = {"type": type(request).__name__, "fields": _fields(request)}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=_plain)
    return hashlib.sha256(canonical.encode()).digest()
