"""Keep customers' personal data out of logs: a structlog processor every service runs.

Logs are copied, shipped and kept far longer than complaint data, and read by people who
have no reason to see a customer's details. So every log line, from our code or from a
library (an SMTP error quoting a recipient, an exception message), is scrubbed before it
is written:

- contact and account details are masked wherever they appear in a string: email
  addresses, phone numbers, card numbers (only digit runs that pass the Luhn check, so
  offsets and ids survive), IBANs (mod-97 checked) and UK sort code + account numbers;
- fields that hold a customer's free text (``description``, ``subject``, ``body``,
  ``display_name``...) are withheld entirely: free text can hold anything, and no
  pattern can promise to find it all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from structlog.typing import EventDict

FREE_TEXT_KEYS = frozenset(
    {
        "description",
        "subject",
        "body",
        "text_body",
        "html_body",
        "display_name",
        "customer_name",
        "free_text",
        "note",
        "notes",
        "comment",
        "message_body",
        "address",
        "postal_address",
    }
)
WITHHELD = "[withheld]"

# RFC 5322 dot-atom local part ("o'neil+x@..."), then a dotted domain.
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9-]+)+"
)
# 13-19 digits, optionally in groups separated by single spaces or hyphens.
_CARD = re.compile(r"(?<![\w.])\d(?:[ -]?\d){12,18}(?![\w.])")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_SORT_CODE_AND_ACCOUNT = re.compile(
    r"(?<![\w-])\d{2}-\d{2}-\d{2}(?![\w-])(?:[\s,/]+(?:a/?c(?:count)?\s*(?:no\.?|number)?:?\s*)?\d{8}(?!\w))?",
    re.IGNORECASE,
)
_ACCOUNT_NUMBER = re.compile(
    r"\b(?:account|acct|a/c)(?:\s*(?:no\.?|number|#))?\s*:?\s*\d{8}(?!\w)", re.IGNORECASE
)
# International (+44 7700 900123) or UK national (07700 900123, 020 7946 0000) numbers.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[ -]?(?:\(0\)[ -]?)?\d(?:[ -]?\d){6,13}|0\d(?:[ -]?\d){8,9})(?![\w])"
)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _iban_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "")
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(char, 36)) for char in rearranged)
    return int(number) % 97 == 1


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[card]" if luhn_valid(digits) else match.group(0)


def _mask_iban(match: re.Match[str]) -> str:
    return "[iban]" if _iban_valid(match.group(0)) else match.group(0)


_MASKS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str] | str], ...] = (
    (_EMAIL, "[email]"),
    (_IBAN, _mask_iban),
    (_CARD, _mask_card),
    (_SORT_CODE_AND_ACCOUNT, "[bank account]"),
    (_ACCOUNT_NUMBER, "[bank account]"),
    (_PHONE, "[phone]"),
)


def mask_text(text: str) -> str:
    """``text`` with every email, phone, card and bank account number masked."""
    # Cheap guard: nothing to mask in a string without '@' or digits.
    if "@" not in text and not any(char.isdigit() for char in text):
        return text
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any) -> Any:
    """``value`` with personal data masked in strings and free-text keys withheld."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {
            key: WITHHELD if key in FREE_TEXT_KEYS and value[key] else redact(value[key])
            for key in value
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item) for item in value]
    if isinstance(value, bytes | bytearray):
        return mask_text(value.decode("utf-8", "replace"))
    if value is None or isinstance(value, bool | int | float):
        return value
    # Anything else would be rendered through its str/repr, which may quote anything.
    return mask_text(str(value))


def redact_personal_data(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """The structlog processor: runs last before rendering, so nothing bypasses it."""
    redacted: EventDict = redact(event_dict)
    return redacted
