"""Time zones come from the declared `tzdata` dependency, never from the image's OS."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator

import pytest

from services.sla.domain import PolicySet

SHIPPED_ZONES = sorted({c.time_zone for c in PolicySet.default().calendars.values()})


@pytest.fixture
def no_system_time_zones() -> Iterator[None]:
    """As on a slim image without /usr/share/zoneinfo: no search path, only the package."""
    zoneinfo.reset_tzpath(to=[])
    try:
        yield
    finally:
        zoneinfo.reset_tzpath()


@pytest.mark.parametrize("zone", SHIPPED_ZONES)
@pytest.mark.usefixtures("no_system_time_zones")
def test_every_calendar_zone_loads_without_the_operating_system(zone: str) -> None:
    assert zoneinfo.ZoneInfo.no_cache(zone).key == zone


def test_tzdata_is_a_declared_dependency() -> None:
    from importlib.metadata import requires

    declared = {req.split(">")[0].split("=")[0].strip() for req in requires("kintsugi") or []}
    assert "tzdata" in declared
