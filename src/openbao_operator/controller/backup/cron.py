"""``spec.backup.schedule``: a 5-field cron expression in a time zone, its slots, and a per-cluster jitter.

The expression (what the reference operator's users write): ``minute hour day-of-month month day-of-week``
with lists, ranges, steps, month and weekday names (``0 3 * * *``, ``*/30 * * * MON-FRI``); the macros
``@yearly``/``@annually``, ``@monthly``, ``@weekly``, ``@daily``/``@midnight`` and ``@hourly``. When both
day fields are restricted a day matches either (classic cron). The time zone is UTC unless the expression
starts with ``CRON_TZ=<IANA zone>`` (or ``TZ=<zone>``), as the reference's cron library reads it:
``CRON_TZ=Europe/Amsterdam 0 3 * * *`` is 03:00 in Amsterdam, summer and winter. Across a daylight-saving
change (Debian cron's rules): a slot inside the skipped hour runs when the hour resumes, a slot inside the
repeated hour runs once (the first time).

Why cronsim and not our own evaluator: it is small, typed (``py.typed``), maintained, has no dependencies,
iterates forwards and backwards, and implements exactly those daylight-saving rules, which are the part of
cron that is easy to get wrong; parsing the macros, the time-zone prefix and refusing 6-field (seconds)
expressions stay here, so every error names ``spec.backup.schedule`` and says what is accepted.

Jitter: a fleet of clusters with the same ``0 3 * * *`` would all snapshot and upload in the same second.
Each cluster runs each slot ``f x min(5 min, a quarter of the gap to the following slot)`` late, where ``f``
in [0, 1) is read from the SHA-256 of the cluster's ``metadata.uid``: the same cluster is always late by the
same fraction (so its runs are predictable and status.backup.nextScheduledBackup is stable), different
clusters are spread, and a slot never runs after the next one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

FIELD = "spec.backup.schedule"
MAX_JITTER = timedelta(minutes=5)
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_ACCEPTED = (
    "expected 5 fields (minute hour day-of-month month day-of-week) such as '0 3 * * *', or one of "
    + ", ".join(MACROS)
    + ", optionally after CRON_TZ=<zone>"
)


class ScheduleError(ValueError):
    """The schedule cannot be used; the message names the field and says what is accepted."""

    field = FIELD


@dataclass(frozen=True)
class CronSchedule:
    """A parsed schedule: the 5-field expression and its zone (slots are returned in UTC)."""

    text: str
    expression: str
    zone: ZoneInfo

    def next_after(self, when: datetime) -> datetime | None:
        """The first slot strictly after ``when`` (None if it never fires again within 50 years)."""
        try:
            found = next(CronSim(self.expression, when.astimezone(self.zone)))
        except StopIteration:
            return None
        return found.astimezone(UTC)

    def at_or_before(self, when: datetime) -> datetime | None:
        """The last slot at or before ``when`` (None if none within 50 years)."""
        probe = when.astimezone(self.zone) + timedelta(microseconds=1)
        try:
            found = next(CronSim(self.expression, probe, reverse=True))
        except StopIteration:
            return None
        return found.astimezone(UTC)


def parse_schedule(text: str) -> CronSchedule:
    """``spec.backup.schedule`` parsed, or :class:`ScheduleError`."""
    words = text.split()
    zone_name = "UTC"
    if words and (words[0].startswith("CRON_TZ=") or words[0].startswith("TZ=")):
        zone_name = words[0].split("=", 1)[1]
        words = words[1:]
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"{FIELD}: unknown time zone {zone_name!r} (an IANA name such as Europe/Amsterdam)"
        ) from None
    if words and words[0].startswith("@"):
        macro = MACROS.get(words[0].lower()) if len(words) == 1 else None
        if macro is None:
            raise ScheduleError(f"{FIELD}: {' '.join(words)!r} is not supported; {_ACCEPTED}")
        words = macro.split()
    if len(words) != 5:
        raise ScheduleError(f"{FIELD}: {text!r} has {len(words)} fields; {_ACCEPTED}")
    expression = " ".join(words)
    try:
        CronSim(expression, datetime(2000, 1, 1, tzinfo=zone))
    except CronSimError as exc:
        raise ScheduleError(f"{FIELD}: {text!r}: {str(exc).lower()}; {_ACCEPTED}") from None
    return CronSchedule(text=text, expression=expression, zone=zone)


def jitter_fraction(uid: str) -> float:
    """The cluster's fixed fraction in [0, 1), from the SHA-256 of its uid."""
    digest = hashlib.sha256(uid.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def jitter(uid: str, *, slot: datetime, following: datetime | None) -> timedelta:
    """How late this cluster runs ``slot`` (whole seconds; see the module docstring)."""
    bound = MAX_JITTER if following is None else min(MAX_JITTER, (following - slot) / 4)
    return timedelta(seconds=int(jitter_fraction(uid) * bound.total_seconds()))


@dataclass(frozen=True)
class Slots:
    """Where ``now`` stands in the schedule, for one cluster."""

    due: datetime | None
    """The latest slot whose jittered start has passed and that is newer than the last one attempted (run it
    now), else None. After an outage the latest missed slot runs once, not one per missed slot."""
    next_run: datetime | None
    """When the next slot after ``due`` (or after now) starts, jitter included; None: the schedule never fires."""
    next_slot: datetime | None
    """That slot without the jitter."""


def slots(schedule: CronSchedule, *, uid: str, now: datetime, after: datetime) -> Slots:
    """The due slot (newer than ``after``: the last attempted slot, or when the cluster was created) and the
    next run."""
    current = schedule.at_or_before(now)
    pending: datetime | None = None
    if current is not None and current + jitter(uid, slot=current, following=schedule.next_after(current)) > now:
        # its jittered start is still ahead: it is the next run, and the slot before it may be the due one
        pending = current if current > after else None
        current = schedule.at_or_before(current - timedelta(seconds=1))
    due = current if current is not None and current > after else None
    upcoming = pending if pending is not None else schedule.next_after(now)
    if upcoming is None:
        return Slots(due=due, next_run=None, next_slot=None)
    run = upcoming + jitter(uid, slot=upcoming, following=schedule.next_after(upcoming))
    return Slots(due=due, next_run=run, next_slot=upcoming)
