"""Values from customers and upstream systems, made safe for the channel they go out on.

A header value that contains CR or LF could start a new header ("Bcc: ..."): header
values are flattened to one line. Bodies keep line breaks and tabs but lose every other
control character (a terminal escape in a display name must not reach a printer or phone).
"""

from __future__ import annotations

import re
import unicodedata

_LINE_BREAKS = re.compile(r"[\r\n\u0085\u2028\u2029]+")
_ASCII_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _is_control(char: str) -> bool:
    # Cc controls, Cf format (bidi overrides), Cs/Co/Cn surrogates, private, unassigned.
    return unicodedata.category(char).startswith("C") and char not in "\n\t"


def body_text(value: str) -> str:
    """Text for a message body: line breaks normalised to LF, other controls removed."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if value.isascii():  # the usual case, and a C-speed one: a whole body per send
        return _ASCII_CONTROLS.sub("", value)
    return "".join(ch for ch in value if not _is_control(ch))


def header_text(value: str) -> str:
    """Text for a header or any single-line field: never more than one line."""
    flattened = _LINE_BREAKS.sub(" ", value)
    if flattened.isascii():
        return " ".join(_ASCII_CONTROLS.sub("", flattened.replace("\t", " ")).split())
    return " ".join("".join(ch for ch in flattened if not _is_control(ch)).split())


class UnsafeHeader(ValueError):
    pass


def require_single_line(field: str, value: str) -> str:
    """For values we build ourselves (addresses, ids): a line break is a bug, say which."""
    if value.isascii():  # addresses and ids, once per send: regexes rather than a loop
        unsafe = bool(_LINE_BREAKS.search(value) or _ASCII_CONTROLS.search(value))
    else:
        unsafe = bool(_LINE_BREAKS.search(value)) or any(_is_control(ch) for ch in value)
    if unsafe:
        raise UnsafeHeader(f"{field}: must be one line without control characters")
    return value
