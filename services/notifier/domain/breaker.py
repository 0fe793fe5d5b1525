"""A circuit breaker per destination (mail relay, SMS gateway, ...).

After ``failure_threshold`` transient failures in a row a destination is open: deliveries
to it are deferred without a connection attempt, so one dead provider costs no timeouts.
After ``cooldown`` one delivery is let through (half-open); its success closes the
circuit, its failure opens it again for another cooldown. Time is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum


class CircuitState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(slots=True)
class _Circuit:
    failures: int = 0
    opened_at: datetime | None = None
    probing: bool = False
    last_reason: str = ""


@dataclass
class CircuitBreakers:
    failure_threshold: int = 5
    cooldown: timedelta = timedelta(seconds=30)
    _circuits: dict[str, _Circuit] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError("failure_threshold: must be at least 1")

    def state(self, destination: str, now: datetime) -> CircuitState:
        circuit = self._circuits.get(destination)
        if circuit is None or circuit.opened_at is None:
            return CircuitState.CLOSED
        if now - circuit.opened_at < self.cooldown:
            return CircuitState.OPEN
        return CircuitState.HALF_OPEN

    def allow(self, destination: str, now: datetime) -> bool:
        """May a delivery to ``destination`` be attempted now? Claims the half-open probe."""
        state = self.state(destination, now)
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.OPEN:
            return False
        circuit = self._circuits[destination]
        if circuit.probing:
            return False
        circuit.probing = True
        return True

    def succeeded(self, destination: str) -> bool:
        """Record a success; True when the destination had been failing (it is back)."""
        return self._circuits.pop(destination, None) is not None

    def failed(self, destination: str, now: datetime, reason: str) -> None:
        """A transient failure (a permanent one says nothing about the destination's health)."""
        circuit = self._circuits.setdefault(destination, _Circuit())
        circuit.failures += 1
        circuit.last_reason = reason
        if circuit.probing or circuit.failures >= self.failure_threshold:
            circuit.opened_at = now
            circuit.probing = False

    def released(self, destination: str) -> None:
        """The half-open probe ended without a verdict (e.g. cancelled): let another try."""
        circuit = self._circuits.get(destination)
        if circuit is not None:
            circuit.probing = False

    def report(self, now: datetime) -> dict[str, str]:
        return {d: self.state(d, now).value for d in self._circuits}

    def healthy(self, destination: str, now: datetime) -> bool:
        return self.state(destination, now) is CircuitState.CLOSED
