"""A batch the clock keeper could not handle stops the worker instead of counting as done."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import OutOfOrderSequenceNumber

from services.sla.adapters.faust_app import BATCH_FAILED_EXIT, handle_or_exit


class _Keeper:
    def __init__(self, error: Exception | None) -> None:
        self.error = error
        self.handled: list[list[Any]] = []

    async def handle_batch(self, messages: list[Any]) -> None:
        if self.error is not None:
            raise self.error
        self.handled.append(messages)


async def test_a_batch_that_failed_ends_the_process_before_faust_can_ack_it() -> None:
    exits: list[int] = []
    keeper = _Keeper(OutOfOrderSequenceNumber())

    with pytest.raises(OutOfOrderSequenceNumber):
        await handle_or_exit(keeper, ["m1", "m2"], exit_process=exits.append)  # type: ignore[arg-type]

    assert exits == [BATCH_FAILED_EXIT]


async def test_a_handled_batch_goes_on() -> None:
    exits: list[int] = []
    keeper = _Keeper(None)

    await handle_or_exit(keeper, ["m1"], exit_process=exits.append)  # type: ignore[arg-type]

    assert exits == []
    assert keeper.handled == [["m1"]]


class _SlowKeeper:
    """Handles a batch until told to stop (a send the broker has not acknowledged yet)."""

    def __init__(self) -> None:
        self.handling = asyncio.Event()

    async def handle_batch(self, messages: list[Any]) -> None:
        self.handling.set()
        await asyncio.Event().wait()


async def test_a_batch_cancelled_half_way_ends_the_process_before_faust_can_ack_it() -> None:
    exits: list[int] = []
    keeper = _SlowKeeper()
    handling = asyncio.create_task(
        handle_or_exit(keeper, ["m1", "m2"], exit_process=exits.append)  # type: ignore[arg-type]
    )
    await keeper.handling.wait()

    handling.cancel()

    with pytest.raises(asyncio.CancelledError):
        await handling
    assert exits == [BATCH_FAILED_EXIT]
