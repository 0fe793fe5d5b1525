"""Bearer-token authentication of upstream sources, from a mounted secret file.

The file is read again whenever it changes (Kubernetes swaps a mounted secret's files
atomically), so a token is rotated by adding the new hash, moving the upstream system over,
then removing the old hash, with no restart. A file that becomes unreadable or invalid
keeps the last good hashes in force, and says so in the log.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import grpc

from kintsugi.common import metrics
from kintsugi.common.logs import get_logger
from services.intake.domain.credentials import TokenFileError, parse_token_hashes, source_of

log = get_logger(__name__)

BEARER = "bearer "


class TokenFile:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._signature: tuple[int, int, int] | None = None
        self._hashes = self._load()  # an invalid file at start-up stops the service

    def hashes(self) -> dict[str, str]:
        """The hashes in force, re-read if the file changed since the last call."""
        try:
            signature = self._stat()
        except OSError as error:
            log.error("token_file_unreadable", path=str(self._path), error=str(error))
            return self._hashes
        if signature != self._signature:
            try:
                self._hashes = self._load()
                log.info("token_file_reloaded", path=str(self._path), tokens=len(self._hashes))
            except (OSError, TokenFileError) as error:
                self._signature = signature  # report a broken version once, not per call
                log.error("token_file_invalid_kept_previous", error=str(error))
        return self._hashes

    def _stat(self) -> tuple[int, int, int]:
        stat = os.stat(self._path)  # follows the secret volume's symlinks
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def _load(self) -> dict[str, str]:
        signature = self._stat()
        hashes = parse_token_hashes(self._path.read_text(encoding="utf-8"), str(self._path))
        self._signature = signature
        return hashes


@dataclass(frozen=True, slots=True)
class Refusal:
    code: grpc.StatusCode
    message: str
    reason: str


class Guard:
    """Who is calling, and may they act for this source system? ``None`` tokens: dev mode."""

    def __init__(self, tokens: TokenFile | None) -> None:
        self._tokens = tokens
        if tokens is None:
            log.warning(
                "authentication_disabled",
                detail="KINTSUGI_INTAKE_TOKENS_FILE is not set: any caller may submit for any "
                "source. Development only; set it in every shared environment.",
            )

    def check(
        self, metadata: tuple[tuple[str, str | bytes], ...], source_system: str
    ) -> Refusal | None:
        if self._tokens is None:
            return None
        header = next((str(v) for k, v in metadata if k == "authorization"), "")
        if not header.lower().startswith(BEARER) or not header[len(BEARER) :].strip():
            return self._refuse(
                grpc.StatusCode.UNAUTHENTICATED,
                "missing credentials: send 'authorization: Bearer <token>' metadata",
                "unauthenticated",
            )
        caller = source_of(header[len(BEARER) :].strip(), self._tokens.hashes())
        if caller is None:
            return self._refuse(
                grpc.StatusCode.UNAUTHENTICATED, "unknown or revoked token", "unauthenticated"
            )
        # An empty source_system is left to validation, which names the field.
        if source_system and caller != source_system:
            return self._refuse(
                grpc.StatusCode.PERMISSION_DENIED,
                f"this token belongs to source '{caller}'; it may not act for "
                f"source_system '{source_system}'",
                "permission_denied",
            )
        return None

    @staticmethod
    def _refuse(code: grpc.StatusCode, message: str, reason: str) -> Refusal:
        metrics.INTAKE_REQUESTS_REFUSED.labels(reason).inc()
        log.info("request_refused", reason=reason)
        return Refusal(code, message, reason)
