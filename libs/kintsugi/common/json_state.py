"""Compact, versioned JSON for small per-complaint state records kept in Kafka."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

SCHEMA_FIELD = "v"


class UnknownSchema(ValueError):
    pass


def dump(record: Any, schema: int) -> bytes:
    """A dataclass instance as JSON, stamped with its schema version."""
    body = asdict(record)
    body[SCHEMA_FIELD] = schema
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def load(data: bytes, schema: int) -> dict[str, Any]:
    """The record's fields, refusing a schema this code does not know."""
    body = json.loads(data)
    if not isinstance(body, dict):
        raise UnknownSchema(f"state is a JSON {type(body).__name__}, not an object")
    found = body.pop(SCHEMA_FIELD, None)
    if found != schema:
        raise UnknownSchema(f"state schema {found!r}, expected {schema}")
    return body
