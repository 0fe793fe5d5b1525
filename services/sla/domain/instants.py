"""Instants as integer epoch seconds.

The domain works at one-second resolution: every aware datetime entering it is floored to
the second, so state restores exactly from integers and arithmetic stays cheap.
"""

from __future__ import annotations

import datetime as dt

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_SECOND = dt.timedelta(seconds=1)


def to_epoch(moment: dt.datetime) -> int:
    """Floor an aware datetime to whole epoch seconds; naive datetimes are refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} is naive: pass a timezone-aware datetime")
    return (moment - EPOCH) // _ONE_SECOND


def from_epoch(seconds: int) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=seconds)
