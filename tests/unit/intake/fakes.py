"""In-memory stand-ins for intake's ports: an event log that remembers, one that fails."""

from __future__ import annotations

from kintsugi.common.codec import Event, event_type


class RecordedEvents:
    """In-memory ``EventLog``: every event published, in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, *events: Event) -> None:
        self.events.extend(events)

    def types_for(self, complaint_id: str) -> list[str]:
        return [event_type(e) for e in self.events if e.complaint_id == complaint_id]


class UnavailableEvents:
    """The broker is down: nothing can be published."""

    async def publish(self, *events: Event) -> None:
        raise ConnectionError("broker unavailable")
