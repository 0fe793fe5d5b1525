"""Prints how many fuzz cases ran, per test and in all, and how long they took."""

from __future__ import annotations

import time

import pytest

from tests.fuzz.profile import PROFILE, tally


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not tally.cases:
        return
    took = time.monotonic() - (tally.started or time.monotonic())
    write = terminalreporter.write_line
    terminalreporter.section(f"fuzz cases (hypothesis profile {PROFILE})")
    for test, count in sorted(tally.cases.items()):
        write(f"{count:>9,}  {test}")
    write(f"{sum(tally.cases.values()):>9,}  in all, {took:,.0f} s")
