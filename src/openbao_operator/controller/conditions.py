"""Conditions as the API wants them: one per type, a transition time that moves only on a status change.

Why its own module: ``lastTransitionTime`` must survive reconciles in which nothing changed (otherwise
every pass would be a status write, breaking "zero writes at steady state"), and the reconcile builds
the whole set from scratch each time. :func:`merge` takes the freshly computed conditions and the live
ones and keeps each live transition time whose status did not change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

Status = Literal["True", "False", "Unknown"]
MESSAGE_LIMIT = 2048


@dataclass(frozen=True)
class Cond:
    """A condition as computed by this reconcile (no time, no generation yet)."""

    type: str
    status: Status
    reason: str
    message: str


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge(
    computed: Iterable[Cond], live: Sequence[Mapping[str, Any]] | None, *, generation: int, now: datetime
) -> list[dict[str, Any]]:
    """The conditions to write, in ``computed`` order, transition times carried over where status held."""
    previous = {str(c.get("type")): c for c in live or () if isinstance(c, Mapping)}
    out: list[dict[str, Any]] = []
    for cond in computed:
        before = previous.get(cond.type)
        since = rfc3339(now)
        if before is not None and before.get("status") == cond.status and before.get("lastTransitionTime"):
            since = str(before["lastTransitionTime"])
        out.append(
            {
                "type": cond.type,
                "status": cond.status,
                "observedGeneration": generation,
                "lastTransitionTime": since,
                "reason": cond.reason,
                "message": cond.message[:MESSAGE_LIMIT],
            }
        )
    return out


def changed(computed: Iterable[Cond], live: Sequence[Mapping[str, Any]] | None) -> list[Cond]:
    """The computed conditions whose status or reason differs from live (for Events on transitions)."""
    previous = {str(c.get("type")): c for c in live or () if isinstance(c, Mapping)}
    out = []
    for cond in computed:
        before = previous.get(cond.type)
        if before is None or before.get("status") != cond.status or before.get("reason") != cond.reason:
            out.append(cond)
    return out
