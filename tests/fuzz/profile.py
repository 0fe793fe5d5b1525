"""How hard the fuzz tests push: a hypothesis profile chosen by ``KINTSUGI_FUZZ``.

``make test`` runs the default profile (a few hundred cases in all, so the suite stays
fast); ``make fuzz`` sets ``KINTSUGI_FUZZ=full``: over 100,000 cases across the targets.
``KINTSUGI_FUZZ=<n>`` runs ``n`` cases per unit of a test's share, for anything between.
Each test counts the cases it really ran (``tally``), and the session prints the totals.
"""

from __future__ import annotations

import os
import time
from collections import Counter

from hypothesis import HealthCheck, settings

settings.register_profile(
    "fuzz-default",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz-full",
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_CHOSEN = os.environ.get("KINTSUGI_FUZZ", "")
PROFILE = "fuzz-full" if _CHOSEN == "full" else "fuzz-default"
FUZZ = settings.get_profile(PROFILE)
if _CHOSEN.isdigit():  # KINTSUGI_FUZZ=2000: the default profile with that many cases
    PROFILE = f"fuzz-default, {_CHOSEN} cases"
    FUZZ = settings(FUZZ, max_examples=int(_CHOSEN))


def scaled(factor: float) -> settings:
    """The profile with ``factor`` times its cases (cheap targets get more)."""
    return settings(FUZZ, max_examples=max(1, int(FUZZ.max_examples * factor)))


class Tally:
    """Cases run per test, and when the first one started."""

    def __init__(self) -> None:
        self.cases: Counter[str] = Counter()
        self.started: float | None = None

    def case(self) -> None:
        if self.started is None:
            self.started = time.monotonic()
        test = os.environ.get("PYTEST_CURRENT_TEST", "?").rsplit(" ", 1)[0]
        self.cases[test] += 1


tally = Tally()
