"""Deterministic identifiers: the same inputs always give the same id, across replays."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

# Changing this namespace would change every complaint and event id ever derived.
_NAMESPACE = uuid.UUID("6f1d3c52-8a0e-4c43-9a55-0f6b8a2e7c11")


def derived_id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


@dataclass(frozen=True, slots=True)
class Cause:
    """The event a decision answers: derived events take their ids and correlation from it."""

    event_id: str
    correlation_id: str
