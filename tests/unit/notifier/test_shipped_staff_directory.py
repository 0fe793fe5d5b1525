"""The shipped staff addresses cover everyone the shipped router directory can escalate to
or assign, so `make up` and the e2e stack deliver every staff message."""

from __future__ import annotations

from services.notifier.config import DEFAULT_STAFF_DIRECTORY, NotifierSettings
from services.notifier.staff_directory import load_staff_directory
from services.router.config import DEFAULT_DIRECTORY
from services.router.domain.directory import Directory


def test_every_person_and_contact_in_the_shipped_directory_has_an_address() -> None:
    directory = Directory.load(DEFAULT_DIRECTORY)
    people = {handler.id for handler in directory.handlers()}
    contacts = {contact.id for team in directory.teams for contact in team.escalation_chain}
    addresses = load_staff_directory(DEFAULT_STAFF_DIRECTORY)
    assert people | contacts <= set(addresses)
    assert NotifierSettings().staff_directory_file == DEFAULT_STAFF_DIRECTORY
