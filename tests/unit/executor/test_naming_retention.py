"""Snapshot keys, Go durations and the retention decision (pure code)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from openbao_operator.executor.errors import ExecutorConfigError
from openbao_operator.executor.naming import (
    cluster_prefix,
    metadata_key,
    parse_go_duration,
    parse_snapshot_key,
    snapshot_key,
)
from openbao_operator.executor.retention import to_delete, with_metadata

PREFIX = "backups/vault/prod/"


def _key(day: int, hour: int = 0, suffix: str = "0000000a") -> str:
    return snapshot_key(PREFIX, at=datetime(2026, 3, day, hour, tzinfo=UTC), suffix=suffix)


def test_prefix_and_key_layout() -> None:
    assert cluster_prefix(path_prefix="/backups//", namespace="vault", cluster="prod") == PREFIX
    assert cluster_prefix(path_prefix=None, namespace="vault", cluster="prod") == "vault/prod/"
    key = _key(1, 12)
    assert key == "backups/vault/prod/2026-03-01T120000Z-0000000a.snap"
    assert metadata_key(key) == key + ".json"
    parsed = parse_snapshot_key(PREFIX, key)
    assert parsed is not None
    assert parsed.taken_at == datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_a_local_time_is_written_in_utc() -> None:
    local = datetime(2026, 3, 1, 13, tzinfo=UTC).astimezone(timezone(timedelta(hours=1)))
    assert snapshot_key(PREFIX, at=local, suffix="0000000a").endswith("2026-03-01T130000Z-0000000a.snap")


@pytest.mark.parametrize(
    "key",
    [
        "backups/vault/prod/notes.txt",
        "backups/vault/prod/2026-03-01T120000Z-0000000a.snap.json",
        "backups/vault/prod/sub/2026-03-01T120000Z-0000000a.snap",
        "backups/vault/other/2026-03-01T120000Z-0000000a.snap",
        "backups/vault/prod/2026-03-01T120000Z-XYZ.snap",
    ],
)
def test_only_own_snapshots_are_recognised(key: str) -> None:
    assert parse_snapshot_key(PREFIX, key) is None


def test_suffix_must_be_hex() -> None:
    with pytest.raises(ValueError, match="hex"):
        snapshot_key(PREFIX, at=datetime(2026, 3, 1, tzinfo=UTC), suffix="../x")


@pytest.mark.parametrize(("text", "seconds"), [("168h", 604800), ("1h30m", 5400), ("90s", 90), ("1.5h", 5400)])
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text, field="retention.maxAge").total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "7d", "h", "10", "1h-5m", "0s"])
def test_bad_durations_name_the_field(text: str) -> None:
    with pytest.raises(ExecutorConfigError, match=r"^retention\.maxAge: "):
        parse_go_duration(text, field="retention.maxAge")


def test_max_count_keeps_the_newest() -> None:
    keys = [_key(d) for d in (1, 2, 3, 4)]
    doomed = to_delete(
        [*keys, "backups/vault/prod/notes.txt", metadata_key(keys[0])],
        prefix=PREFIX,
        keep=keys[3],
        now=datetime(2026, 3, 5, tzinfo=UTC),
        max_count=2,
        max_age=None,
    )
    assert doomed == [keys[0], keys[1]]  # oldest first; foreign objects and metadata are never candidates
    assert with_metadata(doomed) == [keys[0], metadata_key(keys[0]), keys[1], metadata_key(keys[1])]


def test_max_age_and_unlimited_count() -> None:
    keys = [_key(d) for d in (1, 2, 3)]
    now = datetime(2026, 3, 3, 12, tzinfo=UTC)
    assert to_delete(keys, prefix=PREFIX, keep=keys[2], now=now, max_count=0, max_age=timedelta(hours=48)) == [keys[0]]
    assert to_delete(keys, prefix=PREFIX, keep=keys[2], now=now, max_count=None, max_age=None) == []


def test_the_new_snapshot_is_never_deleted() -> None:
    old = _key(1)
    # even when its own time says it is too old (a skewed clock) or beyond the count
    assert to_delete([old], prefix=PREFIX, keep=old, now=datetime(2027, 1, 1, tzinfo=UTC), max_count=1,
                     max_age=timedelta(hours=1)) == []  # fmt: skip
