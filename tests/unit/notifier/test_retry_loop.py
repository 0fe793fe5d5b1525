"""The notifier's retry timer keeps going when a pass fails for some complaints."""

from __future__ import annotations

import asyncio

from services.notifier.domain.retry import transient
from services.notifier.main import retry_on_schedule
from tests.unit.notifier.fakes import COMPLAINT_ID, a_case
from tests.unit.notifier.test_notifier_service import (
    CAUSE,
    RefusingAnnouncements,
    World,
    acknowledge,
)
from tests.waiting import eventually


async def test_a_failing_retry_pass_is_logged_and_the_timer_tries_again() -> None:
    world = World(a_case())
    refusing = RefusingAnnouncements(COMPLAINT_ID)
    world.events = world.notifier._events = refusing  # type: ignore[assignment]
    world.email.failures.append(transient("connection refused"))
    await acknowledge(world.notifier)
    world.clock.advance(minutes=1)
    stop = asyncio.Event()

    timer = asyncio.create_task(retry_on_schedule(world.notifier, stop, 0.01, world.clock))
    await eventually(lambda: world.email.attempts >= 3)  # refused, sent unannounced, again
    refusing.refused = ""  # the broker is back
    await eventually(lambda: bool(world.events.announced_sent))
    stop.set()
    await asyncio.wait_for(timer, timeout=5)

    [(complaint_id, delivery, cause)] = world.events.announced_sent
    assert complaint_id == COMPLAINT_ID and cause == CAUSE
    assert world.notifier.pending == {}
    assert {s.notification_id for s in world.email.sent} == {delivery.notification_id}
