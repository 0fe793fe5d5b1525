"""Closing Kafka clients whose broker went away, without their complaints ending the run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable


async def close_quietly(closing: Awaitable[None]) -> None:
    """Await ``closing``; swallow its errors, and the CancelledError aiokafka re-raises
    from its own cancelled background tasks - unless it is ours being cancelled."""
    try:
        await closing
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
    except Exception:
        pass
