"""Protobuf enums <-> the plain names domain code uses ("email", "high", ...)."""

from __future__ import annotations

from typing import Protocol, TypeVar

from kintsugi.common.names import UNKNOWN
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.events.v1 import notification_pb2 as npb

_V = TypeVar("_V", bound=int)


class _ProtoEnum(Protocol[_V]):
    def items(self) -> list[tuple[str, _V]]: ...


def _plain_names(enum: _ProtoEnum[_V], prefix: str) -> dict[_V, str]:
    """``CHANNEL_WEB_FORM`` -> ``"web_form"``: the plain names are the enum's own, so a value
    added to a proto is named everywhere at once. UNSPECIFIED has no name (see ``UNKNOWN``)."""
    return {
        value: name.removeprefix(prefix).lower()
        for name, value in enum.items()
        if name != f"{prefix}UNSPECIFIED"
    }


CHANNEL_NAMES = _plain_names(pb.Channel, "CHANNEL_")
CHANNEL_VALUES: dict[str, pb.Channel.ValueType] = {n: v for v, n in CHANNEL_NAMES.items()}
SEVERITY_NAMES = _plain_names(pb.Severity, "SEVERITY_")
SEVERITY_VALUES: dict[str, pb.Severity.ValueType] = {n: v for v, n in SEVERITY_NAMES.items()}
PURPOSE_NAMES = _plain_names(npb.NotificationPurpose, "NOTIFICATION_PURPOSE_")
PURPOSE_VALUES: dict[str, npb.NotificationPurpose.ValueType] = {
    n: v for v, n in PURPOSE_NAMES.items()
}
STATUS_NAMES = _plain_names(pb.Status, "STATUS_")
STATUS_VALUES: dict[str, pb.Status.ValueType] = {n: v for v, n in STATUS_NAMES.items()}
OUTCOME_NAMES = _plain_names(pb.ResolutionOutcome, "RESOLUTION_OUTCOME_")
OUTCOME_VALUES: dict[str, pb.ResolutionOutcome.ValueType] = {n: v for v, n in OUTCOME_NAMES.items()}


def channel_name(value: int) -> str:
    """The channel's plain name; ``UNKNOWN`` for CHANNEL_UNSPECIFIED or a newer value."""
    return CHANNEL_NAMES.get(pb.Channel.ValueType(value), UNKNOWN)


def severity_name(value: int) -> str:
    """The severity's plain name; ``UNKNOWN`` for SEVERITY_UNSPECIFIED or a newer value."""
    return SEVERITY_NAMES.get(pb.Severity.ValueType(value), UNKNOWN)


def status_name(value: int) -> str:
    return STATUS_NAMES.get(pb.Status.ValueType(value), UNKNOWN)


def outcome_name(value: int) -> str:
    return OUTCOME_NAMES.get(pb.ResolutionOutcome.ValueType(value), UNKNOWN)
