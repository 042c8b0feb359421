"""Which old snapshots to delete after a successful backup (spec.backup.retention): a pure decision.

Rules: only objects this executor names (``<time>-<hex>.snap`` directly under the cluster's prefix) are ever
candidates, so nothing else in the bucket can be deleted by a retention policy; the snapshot just written is
never deleted; ``maxCount`` (0 or unset: unlimited) keeps the newest N; ``maxAge`` deletes snapshots taken
longer ago than that. Each deleted snapshot takes its metadata object with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from .naming import metadata_key, parse_snapshot_key


def to_delete(
    keys: Iterable[str],
    *,
    prefix: str,
    keep: str,
    now: datetime,
    max_count: int | None,
    max_age: timedelta | None,
) -> list[str]:
    """Snapshot keys to delete, oldest first (their metadata keys are not included; see :func:`with_metadata`)."""
    snapshots = [s for s in (parse_snapshot_key(prefix, k) for k in keys) if s is not None]
    snapshots.sort(key=lambda s: (s.taken_at, s.key), reverse=True)  # newest first
    doomed: set[str] = set()
    if max_count:
        doomed.update(s.key for s in snapshots[max_count:])
    if max_age is not None:
        doomed.update(s.key for s in snapshots if now - s.taken_at > max_age)
    doomed.discard(keep)
    return [s.key for s in reversed(snapshots) if s.key in doomed]


def with_metadata(keys: Iterable[str]) -> list[str]:
    """Each snapshot key followed by its metadata key."""
    out: list[str] = []
    for key in keys:
        out += [key, metadata_key(key)]
    return out
