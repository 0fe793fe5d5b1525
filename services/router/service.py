"""Router use cases: assign a classified complaint; release it when it closes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from kintsugi.common.ids import Cause, derived_id
from services.router.domain.assignment import Assignment, Workload
from services.router.domain.directory import Directory, Handler
from services.router.domain.routing import RoutingRequest, route


class AssignmentStore(Protocol):
    def get(self, complaint_id: str) -> Assignment | None: ...
    def all(self) -> Iterable[Assignment]: ...
    async def save(self, assignment: Assignment) -> None: ...


class AssignmentEvents(Protocol):
    async def assigned(self, assignment: Assignment, cause: Cause) -> None: ...


class Router:
    def __init__(
        self, directory: Directory, store: AssignmentStore, events: AssignmentEvents
    ) -> None:
        self._directory = directory
        self._store = store
        self._events = events
        self.workload = Workload(store.all())

    def reload_workload(self) -> None:
        """After the store gained or lost partitions in a rebalance."""
        self.workload = Workload(self._store.all())

    def load_by_handler(self) -> list[tuple[Handler, int]]:
        return [
            (handler, self.workload.open_by_handler.get(handler.id, 0))
            for team in self._directory.teams
            for handler in team.members
        ]

    async def assign(self, request: RoutingRequest, cause: Cause) -> Assignment:
        """Idempotent: a repeat of the same complaint re-announces the stored decision."""
        existing = self._store.get(request.complaint_id)
        if existing is None:
            decision = route(
                request,
                self._directory,
                self.workload.open_by_handler,
                current_owner_id=self.workload.owner_of(request.customer_id),
            )
            existing = Assignment(
                complaint_id=request.complaint_id,
                customer_id=request.customer_id,
                team_id=decision.team_id,
                team_name=self._directory.team(decision.team_id).name,
                handler_id=decision.handler.id,
                handler_name=decision.handler.name,
                reasons=decision.reasons,
                executive_review=decision.executive_review,
                event_id=derived_id(cause.event_id, "assigned"),
            )
            # Saved before it is announced: a crash in between re-announces this decision
            # rather than making a different one.
            await self._store.save(existing)
            self.workload.add(existing)
        await self._events.assigned(existing, cause)
        return existing

    async def release(self, complaint_id: str) -> None:
        assignment = self._store.get(complaint_id)
        if assignment is None or not assignment.open:
            return
        closed = assignment.closed()
        await self._store.save(closed)
        self.workload.remove(assignment)
