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
