"""The plain names every service's domain code uses for channels and severities.

Pure data (no protobuf), so domain modules may import it; ``vocabulary`` maps these to and
from the protobuf enums at the edges.
"""

from __future__ import annotations

SEVERITIES = ("low", "medium", "high", "critical")
CHANNELS = (
    "email",
    "phone",
    "sms",
    "letter",
    "web_form",
    "chat",
    "social_public",
    "social_private",
    "branch",
)

# What every service calls an enum value that is unspecified (0) or newer than its code.
# Intake refuses it on input; consumers treat it as unknown, never as some default.
UNKNOWN = "unknown"

STATUSES = (
    "open",
    "in_progress",
    "waiting_on_customer",
    "resolved",
    "closed",
    "reopened",
    "customer_responded",
)
OUTCOMES = ("upheld", "partially_upheld", "not_upheld", "withdrawn")
