"""The router's memory: who owns each complaint, and so how loaded each person is."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace

from kintsugi.common import json_state
from services.router.domain.routing import Reason

_SCHEMA = 1


@dataclass(frozen=True, slots=True)
class Assignment:
    complaint_id: str
    customer_id: str
    team_id: str
    team_name: str
    handler_id: str
    handler_name: str
    reasons: tuple[Reason, ...]
    executive_review: bool
    event_id: str
    open: bool = True

    def closed(self) -> Assignment:
        return replace(self, open=False)

    def to_bytes(self) -> bytes:
        return json_state.dump(self, _SCHEMA)

    @classmethod
    def from_bytes(cls, data: bytes) -> Assignment:
        body = json_state.load(data, _SCHEMA)
        body["reasons"] = tuple(Reason(**r) for r in body["reasons"])
        return cls(**body)


class Workload:
    """Open complaints per handler, and per customer and handler, kept incrementally."""

    def __init__(self, assignments: Iterable[Assignment] = ()) -> None:
        self.open_by_handler: Counter[str] = Counter()
        self._open_by_customer: dict[str, Counter[str]] = {}
        for assignment in assignments:
            self.add(assignment)

    def owner_of(self, customer_id: str) -> str | None:
        """The handler with most of the customer's open complaints (ties: lowest id)."""
        owners = self._open_by_customer.get(customer_id)
        if not owners:
            return None
        return min(owners, key=lambda handler: (-owners[handler], handler))

    def add(self, assignment: Assignment) -> None:
        if assignment.open:
            self.open_by_handler[assignment.handler_id] += 1
            if assignment.customer_id:
                owners = self._open_by_customer.setdefault(assignment.customer_id, Counter())
                owners[assignment.handler_id] += 1

    def remove(self, assignment: Assignment) -> None:
        if not assignment.open:
            return
        self.open_by_handler[assignment.handler_id] -= 1
        owners = self._open_by_customer.get(assignment.customer_id)
        if owners is not None:
            owners[assignment.handler_id] -= 1
            if owners[assignment.handler_id] <= 0:
                del owners[assignment.handler_id]
            if not owners:
                del self._open_by_customer[assignment.customer_id]
