"""Saved form of a case and the decisions announced about it (compact versioned JSON).

The decisions are kept with the id of the event that caused them, so a redelivered event
re-announces exactly what was decided instead of deciding again (decision 3).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from kintsugi.common import json_state
from services.router.domain.desk import (
    Assigned,
    CallRequested,
    Case,
    Decision,
    Escalated,
    Queued,
)
from services.router.domain.routing import Reason, RoutingRequest

_SCHEMA = 2
_DECISION_TYPES: dict[str, type[Any]] = {
    t.__name__: t for t in (Assigned, Queued, Escalated, CallRequested)
}


@dataclass(frozen=True, slots=True)
class Announced:
    cause_id: str
    decision: Decision


@dataclass(frozen=True, slots=True)
class StoredCase:
    case: Case
    announced: tuple[Announced, ...] = ()

    @property
    def complaint_id(self) -> str:
        return self.case.complaint_id

    def to_bytes(self) -> bytes:
        case = asdict(self.case)
        if self.case.classified_at is not None:
            case["classified_at"] = self.case.classified_at.isoformat()
        return json_state.dump(_Plain(case, [_plain(a) for a in self.announced]), _SCHEMA)

    @classmethod
    def from_bytes(cls, data: bytes) -> StoredCase:
        body = json_state.load(data, _SCHEMA)
        case = dict(body["case"])
        case["request"] = RoutingRequest(**case["request"])
        for name in ("escalations", "seen"):
            case[name] = tuple(case[name])
        # Absent from cases saved before it was kept: their time to assign is unknown.
        if case.get("classified_at") is not None:
            case["classified_at"] = dt.datetime.fromisoformat(case["classified_at"])
        return cls(
            Case(**case),
            tuple(_announced(a) for a in body["announced"]),
        )


@dataclass(frozen=True, slots=True)
class _Plain:
    case: dict[str, Any]
    announced: list[dict[str, Any]]


def _plain(announced: Announced) -> dict[str, Any]:
    return {
        "cause_id": announced.cause_id,
        "type": type(announced.decision).__name__,
        "decision": asdict(announced.decision),
    }


def _announced(body: dict[str, Any]) -> Announced:
    fields = dict(body["decision"])
    fields["reasons"] = tuple(Reason(**r) for r in fields["reasons"])
    return Announced(body["cause_id"], _DECISION_TYPES[body["type"]](**fields))
