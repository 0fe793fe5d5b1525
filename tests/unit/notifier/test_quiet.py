"""Progress updates wait for the customer's morning; nothing else waits."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from kintsugi.common.ids import Cause
from services.notifier.domain.planner import ClockInfo, DeadlineWarning, UpdateDue
from services.notifier.domain.quiet import SendingWindow
from tests.unit.notifier.fakes import COMPLAINT_ID, a_case
from tests.unit.notifier.test_notifier_service import World

WINDOW = SendingWindow()
LONDON, SYDNEY, NEW_YORK = (
    ZoneInfo(z) for z in ("Europe/London", "Australia/Sydney", "America/New_York")
)


@pytest.mark.parametrize(
    ("zone", "now", "until"),
    [
        (LONDON, datetime(2026, 3, 2, 22, 30, tzinfo=UTC), datetime(2026, 3, 3, 8, tzinfo=LONDON)),
        (LONDON, datetime(2026, 3, 3, 6, 0, tzinfo=UTC), datetime(2026, 3, 3, 8, tzinfo=LONDON)),
        (LONDON, datetime(2026, 3, 3, 8, 0, tzinfo=UTC), None),
        # British Summer Time: 20:30 UTC is 21:30 in London.
        (LONDON, datetime(2026, 7, 1, 20, 30, tzinfo=UTC), datetime(2026, 7, 2, 8, tzinfo=LONDON)),
        (LONDON, datetime(2026, 1, 1, 20, 30, tzinfo=UTC), None),
        # 12:00 UTC is 23:00 in Sydney (daylight saving time in March).
        (SYDNEY, datetime(2026, 3, 2, 12, 0, tzinfo=UTC), datetime(2026, 3, 3, 8, tzinfo=SYDNEY)),
        # 12:00 UTC is 07:00 in New York: an hour to wait; 13:00 UTC is 08:00, no wait.
        (
            NEW_YORK,
            datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
            datetime(2026, 3, 2, 8, tzinfo=NEW_YORK),
        ),
        (NEW_YORK, datetime(2026, 3, 2, 13, 0, tzinfo=UTC), None),
    ],
)
def test_quiet_hours_are_the_customers_local_night(
    zone: ZoneInfo, now: datetime, until: datetime | None
) -> None:
    assert WINDOW.hold_until("progress_update", zone, now) == until


@pytest.mark.parametrize(
    "purpose", ["acknowledgement", "delay_notice", "holding_response", "final_response"]
)
def test_nothing_but_a_progress_update_is_ever_held(purpose: str) -> None:
    midnight = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    assert WINDOW.hold_until(purpose, LONDON, midnight) is None


def test_a_bad_window_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="quiet_until"):
        SendingWindow(quiet_from=time(8), quiet_until=time(8))


async def test_at_night_the_update_waits_for_morning_but_a_holding_response_goes_at_once() -> None:
    world = World(a_case(language="en-GB"))
    world.clock.now = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    cadence = ClockInfo("int-progress-high", "progress_update", 0, False)
    final = ClockInfo("fca-final-8wk", "final_response", 0, True)

    await world.notifier.handle(
        COMPLAINT_ID, UpdateDue(cadence, world.clock.now, world.clock.now), Cause("u", "c")
    )
    await world.notifier.handle(
        COMPLAINT_ID, DeadlineWarning(final, 90, world.clock.now), Cause("w", "c")
    )
    assert [s.message.subject for s in world.email.sent] == [
        "Your complaint 5F0C6A8E2B: why you don't have our answer yet"
    ]

    world.clock.now = datetime(2026, 3, 3, 7, 59, tzinfo=UTC)
    await world.notifier.retry_due()
    assert len(world.email.sent) == 1
    world.clock.now = datetime(2026, 3, 3, 8, 0, 5, tzinfo=UTC)
    await world.notifier.retry_due()
    assert len(world.email.sent) == 2
    assert "An update" in world.email.sent[1].message.subject
