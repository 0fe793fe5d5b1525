"""The staff directory: where escalations and "call the customer" tasks are emailed.

A YAML file (``KINTSUGI_NOTIFIER_STAFF_DIRECTORY_FILE``) mapping the handler and contact
ids the router names (``services/router/directory.yaml``) to email addresses::

    staff:
      amara.okafor: amara.okafor@bank.example
      grace.mensah: grace.mensah@bank.example

Read strictly (``kintsugi.common.config_files``): a duplicate id or a malformed address
stops start-up with file:line, rather than a colleague silently never hearing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from kintsugi.common.config_files import load_model, parse_model

StaffId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]

# One bare address: no display name, whitespace or control characters (it goes in RCPT TO).
_ADDRESS = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[A-Za-z]{2,}")


def _single_address(value: str) -> str:
    if not _ADDRESS.fullmatch(value) or any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ValueError("must be one bare email address, like name@bank.example")
    return value


EmailAddress = Annotated[str, AfterValidator(_single_address)]


class StaffDirectoryFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    staff: dict[StaffId, EmailAddress]


def parse_staff_directory(text: str, source: str = "<staff directory>") -> dict[str, str]:
    model, _ = parse_model(text, StaffDirectoryFile, source=source)
    return dict(model.staff)


def load_staff_directory(file: Path | None) -> dict[str, str]:
    """Staff id -> email; empty without a file (staff messages then fail, naming the id)."""
    if file is None:
        return {}
    model, _ = load_model(file, StaffDirectoryFile)
    return dict(model.staff)
