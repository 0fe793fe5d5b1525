"""Protobuf enums <-> the plain names domain code uses ("email", "high", ...)."""

from __future__ import annotations

from kintsugi.common.names import UNKNOWN
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.events.v1 import notification_pb2 as npb

CHANNEL_NAMES: dict[pb.Channel.ValueType, str] = {
    pb.CHANNEL_EMAIL: "email",
    pb.CHANNEL_PHONE: "phone",
    pb.CHANNEL_SMS: "sms",
    pb.CHANNEL_LETTER: "letter",
    pb.CHANNEL_WEB_FORM: "web_form",
    pb.CHANNEL_CHAT: "chat",
    pb.CHANNEL_SOCIAL_PUBLIC: "social_public",
    pb.CHANNEL_SOCIAL_PRIVATE: "social_private",
    pb.CHANNEL_BRANCH: "branch",
}
CHANNEL_VALUES: dict[str, pb.Channel.ValueType] = {n: v for v, n in CHANNEL_NAMES.items()}


def channel_name(value: int) -> str:
    """The channel's plain name; ``UNKNOWN`` for CHANNEL_UNSPECIFIED or a newer value."""
    return CHANNEL_NAMES.get(pb.Channel.ValueType(value), UNKNOWN)


def severity_name(value: int) -> str:
    """The severity's plain name; ``UNKNOWN`` for SEVERITY_UNSPECIFIED or a newer value."""
    return SEVERITY_NAMES.get(pb.Severity.ValueType(value), UNKNOWN)


SEVERITY_NAMES: dict[pb.Severity.ValueType, str] = {
    pb.SEVERITY_LOW: "low",
    pb.SEVERITY_MEDIUM: "medium",
    pb.SEVERITY_HIGH: "high",
    pb.SEVERITY_CRITICAL: "critical",
}
SEVERITY_VALUES: dict[str, pb.Severity.ValueType] = {n: v for v, n in SEVERITY_NAMES.items()}

PURPOSE_NAMES: dict[npb.NotificationPurpose.ValueType, str] = {
    npb.NOTIFICATION_PURPOSE_ACKNOWLEDGEMENT: "acknowledgement",
    npb.NOTIFICATION_PURPOSE_PROGRESS_UPDATE: "progress_update",
    npb.NOTIFICATION_PURPOSE_DELAY_NOTICE: "delay_notice",
    npb.NOTIFICATION_PURPOSE_HOLDING_RESPONSE: "holding_response",
    npb.NOTIFICATION_PURPOSE_FINAL_RESPONSE: "final_response",
    npb.NOTIFICATION_PURPOSE_SUMMARY_RESOLUTION: "summary_resolution",
    npb.NOTIFICATION_PURPOSE_PUBLIC_ACKNOWLEDGEMENT: "public_acknowledgement",
}
PURPOSE_VALUES: dict[str, npb.NotificationPurpose.ValueType] = {
    n: v for v, n in PURPOSE_NAMES.items()
}

STATUS_NAMES: dict[pb.Status.ValueType, str] = {
    pb.STATUS_OPEN: "open",
    pb.STATUS_IN_PROGRESS: "in_progress",
    pb.STATUS_WAITING_ON_CUSTOMER: "waiting_on_customer",
    pb.STATUS_RESOLVED: "resolved",
    pb.STATUS_CLOSED: "closed",
    pb.STATUS_REOPENED: "reopened",
    pb.STATUS_CUSTOMER_RESPONDED: "customer_responded",
}
STATUS_VALUES: dict[str, pb.Status.ValueType] = {n: v for v, n in STATUS_NAMES.items()}

OUTCOME_NAMES: dict[pb.ResolutionOutcome.ValueType, str] = {
    pb.RESOLUTION_OUTCOME_UPHELD: "upheld",
    pb.RESOLUTION_OUTCOME_PARTIALLY_UPHELD: "partially_upheld",
    pb.RESOLUTION_OUTCOME_NOT_UPHELD: "not_upheld",
    pb.RESOLUTION_OUTCOME_WITHDRAWN: "withdrawn",
}
OUTCOME_VALUES: dict[str, pb.ResolutionOutcome.ValueType] = {n: v for v, n in OUTCOME_NAMES.items()}


def status_name(value: int) -> str:
    return STATUS_NAMES.get(pb.Status.ValueType(value), UNKNOWN)


def outcome_name(value: int) -> str:
    return OUTCOME_NAMES.get(pb.ResolutionOutcome.ValueType(value), UNKNOWN)
