"""Where snapshots live in a bucket, and how long a maxAge is: pure functions, no I/O.

Layout (the reference operator's): ``<pathPrefix>/<namespace>/<cluster>/<time>-<8 hex>.snap``, with the
metadata object at ``<snapshot key>.json``. The time is UTC, ``YYYY-MM-DDTHHMMSSZ``, so keys sort in time
order and a listing can be read without the metadata; the random suffix keeps two backups of the same
second apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .errors import ExecutorConfigError

SNAPSHOT_SUFFIX = ".snap"
METADATA_SUFFIX = ".json"
_TIME_FORMAT = "%Y-%m-%dT%H%M%SZ"
_SNAPSHOT = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{6}Z)-([0-9a-f]{8})\.snap$")
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def cluster_prefix(*, path_prefix: str | None, namespace: str, cluster: str) -> str:
    """``<pathPrefix>/<namespace>/<cluster>/`` (no leading slash; an empty pathPrefix is left out)."""
    parts = [p for p in (path_prefix or "").strip("/").split("/") if p]
    return "/".join([*parts, namespace, cluster]) + "/"


def snapshot_key(prefix: str, *, at: datetime, suffix: str) -> str:
    """The key of a snapshot taken ``at`` (UTC), with an 8-hex-digit ``suffix``."""
    if not re.fullmatch(r"[0-9a-f]{8}", suffix):
        raise ValueError("suffix must be 8 lower-case hex digits")
    return f"{prefix}{at.astimezone(UTC).strftime(_TIME_FORMAT)}-{suffix}{SNAPSHOT_SUFFIX}"


def metadata_key(key: str) -> str:
    return key + METADATA_SUFFIX


@dataclass(frozen=True)
class SnapshotName:
    key: str
    taken_at: datetime


def parse_snapshot_key(prefix: str, key: str) -> SnapshotName | None:
    """The snapshot named by ``key`` if it is one written directly under ``prefix`` by a backup, else None."""
    if not key.startswith(prefix):
        return None
    match = _SNAPSHOT.fullmatch(key[len(prefix) :])
    if match is None:
        return None
    taken = datetime.strptime(match.group(1), _TIME_FORMAT).replace(tzinfo=UTC)
    return SnapshotName(key=key, taken_at=taken)


def parse_go_duration(text: str, *, field: str) -> timedelta:
    """A Go duration such as ``168h`` or ``1h30m`` (spec.backup.retention.maxAge)."""
    value = text.strip()
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(value):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if not value or pos != len(value):
        raise ExecutorConfigError(field, f"{text!r} is not a duration such as 168h, 90m or 1h30m")
    if total <= 0:
        raise ExecutorConfigError(field, "must be longer than zero")
    return timedelta(seconds=total)
