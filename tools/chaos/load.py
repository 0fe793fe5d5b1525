"""Streams the scenario through intake's gRPC API, as a patient upstream system would.

Complaints go out evenly over the run; each one's activities follow it, seconds apart,
once it has been accepted. A call refused for a passing reason (UNAVAILABLE, a deadline,
an activity whose complaint this intake replica has not yet read from the ledger) is
retried with the very same request - always safe (decision 13) - and counted.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import grpc

from kintsugi.intake.v1 import intake_pb2_grpc
from tools.chaos.scenario import Activity, Complaint

CALL_TIMEOUT_S = 10.0
GIVE_UP_AFTER_S = 900.0
Answer = TypeVar("Answer")
PASSING = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.CANCELLED,
}


@dataclass
class LoadStats:
    complaints_accepted: int = 0
    activities_accepted: int = 0
    retries: Counter[str] = field(default_factory=Counter)
    # reference -> the status that refused it for good
    refused: dict[str, str] = field(default_factory=dict)
    # complaint reference -> (category, regime) intake answered
    answers: dict[str, tuple[str, str]] = field(default_factory=dict)
    # activity reference -> the activity's event id
    activity_ids: dict[str, str] = field(default_factory=dict)


async def _call(
    stats: LoadStats,
    reference: str,
    send: Callable[[], Awaitable[Answer]],
    also_passing: frozenset[grpc.StatusCode] = frozenset(),
) -> Answer | None:
    deadline = time.monotonic() + GIVE_UP_AFTER_S
    backoff = 0.5
    while True:
        try:
            return await send()
        except grpc.aio.AioRpcError as error:
            code = error.code()
            if (code not in PASSING and code not in also_passing) or time.monotonic() > deadline:
                stats.refused[reference] = f"{code.name}: {error.details()}"
                return None
            stats.retries[code.name] += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)


async def stream(
    complaints: list[Complaint], grpc_target: str, duration_s: float, stats: LoadStats
) -> None:
    """Submit every complaint and activity; returns when each was accepted or refused."""
    # A complaint's activities go out in order, each once the one before was accepted, as
    # an upstream system records what happens: sent at once they could overtake.
    accepted = {c.reference: asyncio.Event() for c in complaints}
    accepted |= {a.reference: asyncio.Event() for c in complaints for a in c.activities}
    options = [("grpc.lb_policy_name", "round_robin")]
    async with grpc.aio.insecure_channel(grpc_target, options=options) as channel:
        stub = intake_pb2_grpc.IntakeServiceStub(channel)

        async def submit(complaint: Complaint) -> None:
            request = complaint.request(datetime.now(UTC))
            answer = await _call(
                stats,
                complaint.reference,
                lambda: stub.SubmitComplaint(request, timeout=CALL_TIMEOUT_S),
            )
            if answer is not None:
                stats.complaints_accepted += 1
                stats.answers[complaint.reference] = (answer.category, answer.regime)
                accepted[complaint.reference].set()

        async def record(complaint: Complaint, activity: Activity, after: str) -> None:
            await accepted[after].wait()
            request = activity.request(complaint.reference, datetime.now(UTC))
            answer = await _call(
                stats,
                activity.reference,
                lambda: stub.RecordActivity(request, timeout=CALL_TIMEOUT_S),
                # Another intake replica may not have read the complaint's claim yet.
                also_passing=frozenset({grpc.StatusCode.NOT_FOUND}),
            )
            if answer is not None:
                stats.activities_accepted += 1
                stats.activity_ids[activity.reference] = answer.activity_id
                accepted[activity.reference].set()

        schedule: list[tuple[float, int, Callable[[], Coroutine[Any, Any, None]]]] = []
        spacing = duration_s / max(1, len(complaints))
        for complaint in complaints:
            at = complaint.number * spacing
            schedule.append((at, len(schedule), partial(submit, complaint)))
            after = complaint.reference
            for activity in complaint.activities:
                action = partial(record, complaint, activity, after)
                schedule.append((at + activity.after_s, len(schedule), action))
                after = activity.reference
        heapq.heapify(schedule)
        began = time.monotonic()
        tasks: list[asyncio.Task[None]] = []
        while schedule:
            at, _, due = heapq.heappop(schedule)
            await asyncio.sleep(max(0.0, began + at - time.monotonic()))
            tasks.append(asyncio.create_task(due()))
        await asyncio.gather(*tasks)
