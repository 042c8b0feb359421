"""The executor's errors: one hierarchy, each with a reason a Job status or condition can carry.

Messages never contain a secret (token, credentials) or snapshot bytes: storage errors are scrubbed of every
credential value before they are raised (:func:`scrub`).
"""

from __future__ import annotations

from collections.abc import Iterable


class ExecutorError(Exception):
    """Base: ``reason`` is CamelCase for programs, the message is for people."""

    reason = "ExecutorFailed"


class ExecutorConfigError(ExecutorError):
    """The executor's configuration is unusable; names the field."""

    reason = "InvalidConfiguration"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class StorageError(ExecutorError):
    """Object storage refused or failed a request."""

    reason = "ObjectStorageFailed"


class SnapshotNotFoundError(StorageError):
    """The snapshot (or its metadata object) does not exist."""

    reason = "SnapshotNotFound"


class OpenBaoError(ExecutorError):
    """OpenBao refused or failed a request (login, snapshot, restore)."""

    reason = "OpenBaoFailed"


class VerificationError(ExecutorError):
    """The snapshot does not match its recorded checksum or size: nothing was sent to OpenBao."""

    reason = "SnapshotVerificationFailed"


def scrub(message: str, secrets: Iterable[str]) -> str:
    """``message`` with every secret value replaced (storage errors may echo a URL or a header)."""
    for value in secrets:
        if value and len(value) >= 4:
            message = message.replace(value, "[REDACTED]")
    return message
