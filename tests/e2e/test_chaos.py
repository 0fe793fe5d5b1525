"""``make chaos`` in small: two replicas of every service, SIGKILLs at random moments, the
mail server and the gateways down and up, while complaints and their activities stream in.

The full run (``make chaos``) also restarts and freezes a broker of its own; this one
shares the session's broker, so it leaves the broker alone. It asserts what the full run
reports: nothing lost, nothing doubled, nothing left on the dead-letter topic. Never time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.chaos.run import Options, run

COMPLAINTS = 150
KILLS = 6
OUTAGES = 4


@pytest.mark.timeout(600)
async def test_nothing_is_lost_or_doubled_while_services_are_killed(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    report = await run(
        Options(
            complaints=COMPLAINTS,
            kills=KILLS,
            minutes=1.0,
            outages=OUTAGES,
            broker_faults=False,
            settle_minutes=4.0,
            bootstrap=kafka_bootstrap,
            folder=tmp_path,
        )
    )

    assert report.verdict.problems == []
    kills = [r for r in report.recoveries if r.cause == "kill"]
    assert len(kills) == KILLS
    assert len(report.faults.outages) == OUTAGES
    counts = report.verdict.counts
    assert counts["acknowledged"] == COMPLAINTS
    assert counts["clocks started"] == COMPLAINTS
    # Every kind of story and receiver took part.
    assert counts["final responses"] > 0
    assert counts["calls requested"] > 0
    assert counts["escalations"] > 0
    assert counts["clocks paused and resumed"] > 0
    assert report.receivers["emails accepted"] > 0
    assert report.receivers["gateway requests accepted"] > 0
