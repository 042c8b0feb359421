"""spec.backup.schedule: parsing, slots across daylight-saving changes, the per-cluster jitter, due slots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbao_operator.controller.backup.cron import (
    MAX_JITTER,
    ScheduleError,
    jitter,
    jitter_fraction,
    parse_schedule,
    slots,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[arg-type,misc]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("0 3 * *", "has 4 fields"),
        ("0 0 3 * * *", "has 6 fields"),
        ("@every 1h", "'@every 1h' is not supported"),
        ("61 3 * * *", "bad minute"),
        ("0 3 * * MOO", "bad day-of-week"),
        ("0 0 31 2 *", "bad day-of-month"),
        ("CRON_TZ=Mars/Base 0 3 * * *", "unknown time zone 'Mars/Base'"),
        ("", "has 0 fields"),
    ],
)
def test_a_bad_schedule_names_the_field_and_what_is_accepted(text: str, says: str) -> None:
    with pytest.raises(ScheduleError) as err:
        parse_schedule(text)
    assert str(err.value).startswith("spec.backup.schedule: ")
    assert says in str(err.value)


def test_macros_names_and_steps() -> None:
    assert parse_schedule("@daily").next_after(utc(2026, 12, 3, 7)) == utc(2026, 12, 4)
    assert parse_schedule("@hourly").next_after(utc(2026, 12, 3, 7, 0, 1)) == utc(2026, 12, 3, 8)
    weekdays = parse_schedule("*/30 9 * * MON-FRI")
    # 2026-12-05 is a Saturday: the next run is Monday 09:00
    assert weekdays.next_after(utc(2026, 12, 4, 9, 30)) == utc(2026, 12, 7, 9)
    assert weekdays.at_or_before(utc(2026, 12, 6, 12)) == utc(2026, 12, 4, 9, 30)


def test_both_day_fields_restricted_match_either() -> None:
    # the 1st of the month OR a Monday (classic cron)
    schedule = parse_schedule("0 0 1 * MON")
    assert schedule.next_after(utc(2026, 12, 1, 0, 0, 1)) == utc(2026, 12, 7)
    assert schedule.next_after(utc(2026, 12, 28, 0, 0, 1)) == utc(2027, 1, 1)


def test_a_time_zone_keeps_the_local_hour_across_daylight_saving() -> None:
    schedule = parse_schedule("CRON_TZ=Europe/Amsterdam 0 3 * * *")
    assert schedule.next_after(utc(2026, 12, 3, 7)) == utc(2026, 12, 4, 2)  # CET = UTC+1
    assert schedule.next_after(utc(2026, 7, 3, 7)) == utc(2026, 7, 4, 1)  # CEST = UTC+2
    assert parse_schedule("TZ=America/New_York 0 3 * * *").next_after(utc(2026, 12, 3, 9)) == utc(2026, 12, 4, 8)


def test_a_slot_in_the_skipped_hour_runs_when_the_hour_resumes_and_a_repeated_hour_runs_once() -> None:
    schedule = parse_schedule("CRON_TZ=Europe/Amsterdam 30 2 * * *")
    # 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist, the run is at 03:00 CEST (01:00 UTC)
    assert schedule.next_after(utc(2026, 3, 28, 12)) == utc(2026, 3, 29, 1)
    # 2026-10-25: 02:00-03:00 happens twice; 02:30 runs once, the first time (CEST, 00:30 UTC)
    assert schedule.next_after(utc(2026, 10, 24, 12)) == utc(2026, 10, 25, 0, 30)
    assert schedule.next_after(utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 26, 1, 30)


def test_at_or_before_includes_the_instant_itself() -> None:
    schedule = parse_schedule("0 3 * * *")
    assert schedule.at_or_before(utc(2026, 12, 3, 3)) == utc(2026, 12, 3, 3)
    assert schedule.at_or_before(utc(2026, 12, 3, 2, 59, 59)) == utc(2026, 12, 2, 3)


@given(uid=st.text(min_size=1, max_size=40), gap_minutes=st.integers(min_value=1, max_value=60 * 24 * 40))
def test_jitter_is_fixed_per_cluster_and_bounded(uid: str, gap_minutes: int) -> None:
    slot = utc(2026, 12, 3, 3)
    following = slot + timedelta(minutes=gap_minutes)
    first = jitter(uid, slot=slot, following=following)
    assert first == jitter(uid, slot=slot, following=following)
    assert timedelta(0) <= first <= min(MAX_JITTER, (following - slot) / 4)
    assert 0.0 <= jitter_fraction(uid) < 1.0


def test_jitter_spreads_clusters() -> None:
    offsets = {jitter(f"uid-{i}", slot=utc(2026, 12, 3, 3), following=None) for i in range(50)}
    assert len(offsets) > 40


UID = "4f6c1e0a-0000-4000-8000-000000000001"


def test_the_latest_slot_is_due_once_and_then_the_next_run_is_tomorrow() -> None:
    schedule = parse_schedule("0 3 * * *")
    offset = jitter(UID, slot=utc(2026, 12, 3, 3), following=utc(2026, 12, 4, 3))
    now = utc(2026, 12, 3, 3) + offset + timedelta(seconds=1)
    first = slots(schedule, uid=UID, now=now, after=utc(2026, 12, 1))
    assert first.due == utc(2026, 12, 3, 3)
    assert first.next_slot == utc(2026, 12, 4, 3)
    assert first.next_run == utc(2026, 12, 4, 3) + offset
    again = slots(schedule, uid=UID, now=now + timedelta(minutes=1), after=utc(2026, 12, 3, 3))
    assert again.due is None
    assert again.next_run == first.next_run


def test_before_its_jittered_start_a_slot_is_the_next_run_not_due() -> None:
    uid = next(u for u in (f"u{i}" for i in range(100)) if jitter_fraction(u) > 0.5)
    schedule = parse_schedule("0 3 * * *")
    now = utc(2026, 12, 3, 3, 0, 5)
    where = slots(schedule, uid=uid, now=now, after=utc(2026, 12, 2, 3))
    assert where.due is None
    assert where.next_slot == utc(2026, 12, 3, 3)
    assert where.next_run is not None
    assert where.next_run > now


def test_after_an_outage_the_latest_missed_slot_runs_once() -> None:
    schedule = parse_schedule("0 * * * *")
    where = slots(schedule, uid=UID, now=utc(2026, 12, 3, 10, 30), after=utc(2026, 12, 2, 10))
    assert where.due == utc(2026, 12, 3, 10)
    assert slots(schedule, uid=UID, now=utc(2026, 12, 3, 10, 31), after=utc(2026, 12, 3, 10)).due is None


def test_slots_before_the_cluster_existed_are_never_due() -> None:
    schedule = parse_schedule("0 3 * * *")
    created = utc(2026, 12, 3, 5)
    assert slots(schedule, uid=UID, now=utc(2026, 12, 3, 6), after=created).due is None
