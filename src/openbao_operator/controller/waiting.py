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
from typing import TYPE_CHECKING, Any

from openbao_operator.kube import Manifest, ObjectKey

if TYPE_CHECKING:
    from openbao_operator.baoapi import Target

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
    full_every: float = 300.0
    """Between checks that ask pod-0 alone, a full pass at least this often (it reads the Secrets, which no
    watch reports; an idle running cluster reads them only at its resync, every 10 minutes by default)."""

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


@dataclass
class _Wait:
    seen: str
    """What the last check saw of the pods and the StatefulSet (:func:`observed`)."""
    attempt: int
    """Checks in a row that saw ``seen``."""
    since: float
    """When the wait began."""
    target: Target | None = None
    """How the last full pass reached pod-0 (None: a probe-only check is not possible)."""
    full_at: float = 0.0
    """When the last full pass checked."""
    others_due: float | None = None
    """When the last full pass's other time-based work is due (None: none sooner than a full look)."""


@dataclass(frozen=True)
class QuickCheck:
    """A pass may only ask pod-0 again: how to reach it."""

    target: Target


class Waits:
    """Per cluster, in this process only: how many checks in a row saw the same pods still not answering.

    Bounded (``limit`` clusters, the least recently waiting dropped first): a forgotten cluster only starts
    over with quick checks.

    A check between two full passes may be a probe of pod-0 alone (:meth:`quick` and :meth:`probed`): when no
    watch event came since the last full pass (the runtime's ``Touched``), nothing the operator watches
    changed, so the full pass would read the same cluster, pods and StatefulSet and decide the same things,
    except what it reads without a watch (the three Secrets, ``get`` by name only) and what is due by time.
    So a full pass still comes at least every :attr:`WaitPolicy.full_every` seconds, and before the earliest
    time any other work of the last full pass is due; and an answer from pod-0, or a wait that becomes news,
    is left to a full pass. A Secret deleted during a wait is seen within five minutes (of a running cluster,
    only at its next pass: its resync).
    """

    def __init__(
        self, *, policy: WaitPolicy | None = None, limit: int = 65536, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = policy or WaitPolicy()
        self._limit = limit
        self._clock = clock
        self._state: OrderedDict[ObjectKey, _Wait] = OrderedDict()

    def check(
        self,
        key: ObjectKey,
        *,
        waiting: str | None,
        statefulset: Manifest | None,
        pods: Sequence[Manifest],
        live_status: Mapping[str, Any] | None = None,
        target: Target | None = None,
    ) -> Check:
        """``waiting``: what this pass waited for (bootstrap's ``waiting``), None when it did not wait.
        ``live_status``: the cluster's status (a wait it already reports stays reported). ``target``: how this
        pass reached pod-0 (a later check may probe it alone, :meth:`quick`)."""
        if waiting is None:
            self._state.pop(key, None)
            return NOT_WAITING
        seen, now = observed(statefulset, pods), self._clock()
        previous = self._state.pop(key, None)
        same = previous is not None and previous.seen == seen
        state = _Wait(
            seen=seen,
            attempt=previous.attempt + 1 if previous is not None and same else 0,
            since=previous.since if previous is not None else now,
            target=target,
            full_at=now,
        )
        self._state[key] = state
        while len(self._state) > self._limit:
            self._state.popitem(last=False)
        return self._decide(state, waiting=waiting, now=now, live_status=live_status)

    def _decide(self, state: _Wait, *, waiting: str, now: float, live_status: Mapping[str, Any] | None) -> Check:
        delay = self.policy.delay(state.attempt)
        if now - state.since < self.policy.report_after and not reported(live_status):
            return Check(retry_after=delay)
        message = (
            f"waiting for {waiting}; the operator asks again within {self.policy.cap:g} s, and at once when a pod "
            "or the StatefulSet changes"
        )
        return Check(retry_after=delay, problem=Problem(REASON, message))

    def settle(self, key: ObjectKey, *, waited: bool, others: float | None) -> None:
        """After a full pass: ``waited``, whether its bootstrap step checked this wait (a pass that stopped
        earlier, or found OpenBao answering, ends it); ``others``, in how many seconds its other work is due
        (None: nothing sooner than a full look)."""
        state = self._state.get(key)
        if state is None:
            return
        if not waited:
            del self._state[key]
            return
        state.others_due = self._clock() + others if others is not None else None

    def quick(self, key: ObjectKey) -> QuickCheck | None:
        """Whether a pass that no event brought may only probe pod-0 (None: a full pass is due)."""
        state = self._state.get(key)
        if state is None or state.target is None:
            return None
        now = self._clock()
        if now - state.full_at >= self.policy.full_every:
            return None
        if state.others_due is not None and now >= state.others_due:
            return None
        return QuickCheck(target=state.target)

    def probed(self, key: ObjectKey, *, live_status: Mapping[str, Any] | None) -> float | None:
        """After a probe-only check that pod-0 did not answer: seconds to the next check. None when the check
        would change the status (the wait became news), which is a full pass's to write."""
        state = self._state.get(key)
        if state is None:
            return None
        now = self._clock()
        state.attempt += 1
        self._state.move_to_end(key)
        check = self._decide(state, waiting="", now=now, live_status=live_status)
        if check.problem is not None and not reported(live_status):
            return None
        assert check.retry_after is not None
        delay = check.retry_after
        if state.others_due is not None:
            delay = min(delay, max(0.0, state.others_due - now))
        return min(delay, max(0.0, state.full_at + self.policy.full_every - now))

    def attempts(self, key: ObjectKey) -> int | None:
        """Checks in a row that saw the same pods (None: not waiting)."""
        state = self._state.get(key)
        return state.attempt if state is not None else None
