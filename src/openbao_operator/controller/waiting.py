"""Waiting is not polling: when a cluster waiting for pod-0 to answer is looked at again.

Why: before initialization the operator asks pod-0 ``GET sys/init``. A pod that runs but does not answer
yet is usually a second or two from answering, so the first checks come quickly; but a cluster whose
OpenBao never comes up (a bad image, a crash loop, a network policy in the way) must not cost a probe and
three Secret reads every two seconds forever. So the delay grows (bounded exponential: a few quick checks,
then doubling up to :attr:`WaitPolicy.cap`) while nothing about the cluster's pods or StatefulSet changes,
and starts over at any change of them: every watch event of a pod or the StatefulSet changes its
resourceVersion (and brings a pass at once through the owner mapping), so "reset by an event" is "reset by a
different observation", which needs no hook in the runtime and survives nothing but this process.

Once the wait is long enough to be news (a minute: a normal start never gets there) the pass reports it as a
problem whose
message says when the next check comes at the latest (the cap) and that any change brings one at once. The
message is the same for the whole wait, and a status that already reports it keeps reporting it (also after
an operator restart, which starts the checks over), so a waiting cluster costs one status write, not one per
delay. It names the pod, never an address or anything secret.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openbao_operator.kube import Manifest, ObjectKey

from .status import Problem

REASON = "WaitingForOpenBao"


@dataclass(frozen=True, kw_only=True)
class WaitPolicy:
    """Delays of the checks of a waiting cluster: ``quick`` checks ``base`` seconds apart, then doubling."""

    base: float = 2.0
    quick: int = 3
    cap: float = 60.0
    report_after: float = 60.0
    """A wait this many seconds long is reported in status (shorter waits are a normal start, not news)."""

    def delay(self, attempt: int) -> float:
        """The delay after the ``attempt``-th check (0-based) that found the same pods still not answering."""
        steps = max(0, attempt - self.quick + 1)
        return min(self.cap, self.base * 2.0 ** min(steps, 32))


@dataclass(frozen=True)
class Check:
    """When to look again (a ``StepReport``: the reconcile takes it like bootstrap's outcome)."""

    retry_after: float | None
    problem: Problem | None = None
    event: tuple[str, str] | None = None


NOT_WAITING = Check(retry_after=None)


def observed(statefulset: Manifest | None, pods: Sequence[Manifest]) -> str:
    """What a watch event of the cluster's pods or StatefulSet would change: their uids and resourceVersions."""
    parts = [_version(statefulset)] if statefulset is not None else []
    parts += sorted(_version(p) for p in pods)
    return ",".join(parts)


def reported(live_status: Mapping[str, Any] | None) -> bool:
    """The status already says the cluster waits (Degraded with this module's reason)."""
    conditions = (live_status or {}).get("conditions") or ()
    return any(c.get("type") == "Degraded" and c.get("reason") == REASON for c in conditions)


def _version(obj: Manifest) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('name', '')}/{meta.get('uid', '')}@{meta.get('resourceVersion', '')}"


class Waits:
    """Per cluster, in this process only: how many checks in a row saw the same pods still not answering.

    Bounded (``limit`` clusters, the least recently waiting dropped first): a forgotten cluster only starts
    over with quick checks."""

    def __init__(
        self, *, policy: WaitPolicy | None = None, limit: int = 65536, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = policy or WaitPolicy()
        self._limit = limit
        self._clock = clock
        self._state: OrderedDict[ObjectKey, tuple[str, int, float]] = OrderedDict()
        """Per cluster: what the last check saw, the checks in a row that saw it, and when the wait began."""

    def check(
        self,
        key: ObjectKey,
        *,
        waiting: str | None,
        statefulset: Manifest | None,
        pods: Sequence[Manifest],
        live_status: Mapping[str, Any] | None = None,
    ) -> Check:
        """``waiting``: what this pass waited for (bootstrap's ``waiting``), None when it did not wait.
        ``live_status``: the cluster's status (a wait it already reports stays reported)."""
        if waiting is None:
            self._state.pop(key, None)
            return NOT_WAITING
        seen, now = observed(statefulset, pods), self._clock()
        previous = self._state.pop(key, None)
        attempt = previous[1] + 1 if previous is not None and previous[0] == seen else 0
        since = previous[2] if previous is not None else now
        self._state[key] = (seen, attempt, since)
        while len(self._state) > self._limit:
            self._state.popitem(last=False)
        delay = self.policy.delay(attempt)
        if now - since < self.policy.report_after and not reported(live_status):
            return Check(retry_after=delay)
        message = (
            f"waiting for {waiting}; the operator asks again within {self.policy.cap:g} s, and at once when a pod "
            "or the StatefulSet changes"
        )
        return Check(retry_after=delay, problem=Problem(REASON, message))

    def attempts(self, key: ObjectKey) -> int | None:
        """Checks in a row that saw the same pods (None: not waiting)."""
        state = self._state.get(key)
        return state[1] if state is not None else None
