"""Backpressure at the gRPC edge: a bounded number of calls in flight, each answered
within the caller's deadline, and no source able to take every place.

A call over the limit - the service's, or its source's share - is refused at once. A call
whose work (claiming, publishing) cannot finish in time - Kafka slow or down - is answered
UNAVAILABLE shortly before the caller's deadline, so the caller hears "retry" rather than
"deadline exceeded" and can tell the two apart. Nothing is ever answered OK before the
events are durable (acks=all), and a retry of the same request is always safe (see the
ledger).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kintsugi.common import metrics


@dataclass
class Admission:
    max_in_flight: int
    # Longest a call may take when the caller set no deadline (or a longer one).
    request_timeout_s: float
    # One source's share of ``max_in_flight`` (unset: all of it). A source flooding the
    # API - a runaway retry loop, a bulk migration - then waits on itself, not on others.
    max_in_flight_per_source: int | None = None
    # Kept back from the caller's deadline to send the answer.
    answer_margin_s: float = 0.2
    in_flight: int = 0
    by_source: dict[str, int] = field(default_factory=dict)

    def try_enter(self, source: str = "") -> bool:
        if self.in_flight >= self.max_in_flight:
            metrics.INTAKE_REQUESTS_REFUSED.labels("overloaded").inc()
            return False
        share = self.max_in_flight_per_source or self.max_in_flight
        if self.by_source.get(source, 0) >= share:
            metrics.INTAKE_REQUESTS_REFUSED.labels("source_overloaded").inc()
            return False
        self.in_flight += 1
        self.by_source[source] = self.by_source.get(source, 0) + 1
        return True

    def leave(self, source: str = "") -> None:
        # kintsugi_grpc_in_flight_requests (the observability interceptor) shows the count.
        self.in_flight -= 1
        remaining = self.by_source.get(source, 0) - 1
        if remaining > 0:
            self.by_source[source] = remaining
        else:
            self.by_source.pop(source, None)  # sources come and go: no entry per past source

    def budget(self, time_remaining_s: float | None) -> float | None:
        """Seconds this call may work, or ``None`` if the deadline leaves no time to."""
        if time_remaining_s is None:
            return self.request_timeout_s
        budget = min(self.request_timeout_s, time_remaining_s - self.answer_margin_s)
        if budget <= 0:
            metrics.INTAKE_REQUESTS_REFUSED.labels("deadline").inc()
            return None
        return budget
