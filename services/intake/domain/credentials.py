"""Which upstream source a bearer token belongs to, from a file of SHA-256 hashes.

The file holds no tokens, only their hashes, one per line: ``<source_system> <sha256 hex>``,
``#`` comments and blank lines allowed. A source may have several hashes (the old and the
new token while it rotates); a hash belongs to one source only.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from services.intake.domain.submission import SOURCE_SYSTEM

_HASH = re.compile(r"^[0-9a-f]{64}$")


class TokenFileError(ValueError):
    """The hashes file is unusable; names the file, the line and the rule."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_token_hashes(text: str, origin: str) -> dict[str, str]:
    """hash -> source_system, or ``TokenFileError`` naming every bad line."""
    sources: dict[str, str] = {}
    problems = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            problems.append(f"{origin}:{number}: expected '<source_system> <sha256 hex>'")
            continue
        source, digest = parts[0], parts[1].lower()
        if not SOURCE_SYSTEM.match(source):
            problems.append(f"{origin}:{number}: source_system {source!r} is not a valid name")
        elif not _HASH.match(digest):
            problems.append(f"{origin}:{number}: a SHA-256 hash is 64 hex characters")
        elif sources.get(digest, source) != source:
            problems.append(f"{origin}:{number}: hash already belongs to {sources[digest]!r}")
        else:
            sources[digest] = source
    if problems:
        raise TokenFileError("; ".join(problems))
    if not sources:
        raise TokenFileError(f"{origin}: no token hashes (auth would refuse everyone)")
    return sources


def source_of(token: str, hashes: dict[str, str]) -> str | None:
    """The source a token belongs to, or ``None``; compared in constant time."""
    digest = token_hash(token)
    found = None
    for known, source in hashes.items():
        if hmac.compare_digest(known, digest):
            found = source
    return found
