"""The jurisdictions Kintsugi can time: the ids of the sla's business calendars.

Intake accepts a complaint only in a jurisdiction the sla has a calendar for (else no
clock could start), and both read the one calendars file, so they cannot disagree.
"""

from __future__ import annotations

from pathlib import Path

import yaml


class CalendarsFileError(ValueError):
    """The calendars file cannot tell which jurisdictions exist; names file and path."""


def calendar_ids(calendars_file: Path) -> frozenset[str]:
    """Every ``calendars[].id`` in the sla's calendars file (``calendars.yaml``)."""
    try:
        document = yaml.safe_load(calendars_file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise CalendarsFileError(f"{calendars_file}: cannot be read as YAML: {error}") from error
    calendars = document.get("calendars") if isinstance(document, dict) else None
    if not isinstance(calendars, list) or not calendars:
        raise CalendarsFileError(f"{calendars_file}: calendars: a non-empty list is required")
    ids = []
    for index, calendar in enumerate(calendars):
        calendar_id = calendar.get("id") if isinstance(calendar, dict) else None
        if not isinstance(calendar_id, str) or not calendar_id:
            raise CalendarsFileError(f"{calendars_file}: calendars[{index}].id: required text")
        ids.append(calendar_id)
    return frozenset(ids)
