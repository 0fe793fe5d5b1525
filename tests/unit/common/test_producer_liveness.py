"""A producer that gave up for good fails the service's liveness, so it is restarted."""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka.errors import OutOfOrderSequenceNumber

from kintsugi.common.ops_server import Health
from kintsugi.common.runtime import fail_liveness_when_done


async def test_a_sender_that_died_fails_liveness_with_the_reason() -> None:
    async def sender() -> None:
        raise OutOfOrderSequenceNumber()

    health = Health()
    task = asyncio.create_task(sender())
    fail_liveness_when_done(task, health)
    with contextlib.suppress(OutOfOrderSequenceNumber):
        await task
    await asyncio.sleep(0)  # done callbacks run on the next loop turn

    assert health.failure is not None
    assert "OutOfOrderSequenceNumber" in health.failure


async def test_a_sender_stopped_on_shutdown_leaves_liveness_alone() -> None:
    health = Health()
    task = asyncio.create_task(asyncio.sleep(10))
    fail_liveness_when_done(task, health)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await asyncio.sleep(0)

    assert health.failure is None
