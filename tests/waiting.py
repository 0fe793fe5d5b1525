"""Waiting in tests for something another task does: a hang guard, never a timing check."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait until ``condition`` holds (about ten seconds at most)."""
    for _ in range(1_000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")
