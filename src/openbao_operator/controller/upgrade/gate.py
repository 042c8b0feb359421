"""The health gate after each replaced pod of an upgrade: wait, go on, or stop, with a reason and a bound.

Why a decision of its own: the rolling upgrade must not touch the next pod until the one it replaced is a
full member again, and must stop (keeping quorum: the other pods are untouched) when it does not get there.
"Ready" alone is not enough: the readiness probe only says unsealed. OpenBao's HA upgrade guide checks the
version and the standby state of each upgraded node before going on, and a Raft node that is unsealed but
far behind the leader, or not yet a voter again, would cost quorum if the next pod went down. So the gate
asks, in this order (the first unmet one is the reason):

1. ``Unreachable``: the pod's sys/health answered;
2. ``WrongVersion``: it runs the target version (a pod that came back on another version will not change by
   waiting: stop at once);
3. ``Uninitialized`` / ``Sealed``: initialized and unsealed (it unseals itself with the static or KMS seal);
4. ``NotJoined``: its node id is in the Raft configuration;
5. ``NotVoter``: autopilot lists it as a voter (or the leader): a re-added server is a non-voter until
   autopilot's stabilization time has passed (only where autopilot is read: it needs a token);
6. ``Lagging``: its applied index is within ``max_index_lag`` of the leader's;
7. ``AutopilotUnhealthy``: autopilot calls it healthy (unless the policy does not require autopilot, for
   clusters whose token may not read the autopilot state).

The observations map onto ``GET sys/storage/raft/autopilot/state`` as 2.6.2 and 2.7.2 answer it
(docs/upgrades.md): ``raft_joined`` = the node id is a key of ``servers``; ``voter`` = its ``status`` is
``voter`` or ``leader``; ``autopilot_healthy`` = its ``healthy``; ``applied_index`` = its ``last_index``;
``leader_index`` = the ``last_index`` of ``servers[leader]``; ``version`` = sys/health's ``version``.

A container that restarted ``crash_restarts`` times since it was replaced is a build that does not start:
stop at once (``CrashLooping``) instead of waiting out the bound. Otherwise, past ``timeout`` the gate stops
with ``HealthTimeout`` naming the check that was still unmet. Pure: the caller passes the observations and
the time elapsed since the pod was replaced; nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from .versions import parse

POLL: timedelta = timedelta(seconds=5)
"""How soon to look again while waiting (the reconcile's requeue-after)."""


class Verdict(StrEnum):
    WAIT = "Wait"
    OK = "Ok"
    STOP = "Stop"


@dataclass(frozen=True)
class PodHealth:
    """What one observation of the replaced pod found (None: not known, e.g. the API did not answer)."""

    pod: str
    reachable: bool = False
    version: str | None = None
    """sys/health's ``version``."""
    initialized: bool = False
    sealed: bool = True
    raft_joined: bool = False
    """Its node id is in sys/storage/raft/configuration."""
    voter: bool | None = None
    """Autopilot's status for it is ``voter`` or ``leader``."""
    autopilot_healthy: bool | None = None
    applied_index: int | None = None
    leader_index: int | None = None
    restarts: int = 0
    """Container restarts since this pod was replaced."""


@dataclass(frozen=True)
class GatePolicy:
    timeout: timedelta = timedelta(minutes=10)
    """The bound for one pod (the rollout's ``rollout_ready_timeout`` by default)."""
    max_index_lag: int = 100
    """How far behind the leader's index a pod may be and count as caught up."""
    crash_restarts: int = 3
    require_autopilot: bool = True
    """Autopilot's state was read (the operator has a token): voter and autopilot health are checked. Without
    a token, joined and the indexes come from the unauthenticated ``sys/leader`` of each node."""


@dataclass(frozen=True)
class GateDecision:
    verdict: Verdict
    reason: str
    """CamelCase, for a condition: ``Healthy``, the first unmet check, ``CrashLooping`` or ``HealthTimeout``."""
    message: str
    pending: tuple[str, ...] = ()
    """Every check still unmet, in order."""
    requeue_after: timedelta | None = None


def unmet(health: PodHealth, *, target: str, policy: GatePolicy) -> list[tuple[str, str]]:
    """The checks ``health`` does not pass yet, in the gate's order, each with what was seen."""
    if not health.reachable:
        return [("Unreachable", "sys/health did not answer")]
    out: list[tuple[str, str]] = []
    want = parse(target)
    if health.version is None or want is None or parse(health.version) != want:
        out.append(("WrongVersion", f"runs {health.version or 'an unknown version'}, not {target}"))
    if not health.initialized:
        out.append(("Uninitialized", "OpenBao reports it is not initialized"))
    if health.sealed:
        out.append(("Sealed", "still sealed"))
    if not health.raft_joined:
        out.append(("NotJoined", "its node id is not in the Raft configuration"))
    if policy.require_autopilot and health.voter is not True:
        out.append(("NotVoter", "autopilot does not list it as a voter" if health.voter is False else "voter unknown"))
    if health.applied_index is None or health.leader_index is None:
        out.append(("Lagging", "applied index unknown"))
    elif health.leader_index - health.applied_index > policy.max_index_lag:
        lag = health.leader_index - health.applied_index
        out.append(("Lagging", f"applied index {health.applied_index}, leader {health.leader_index} ({lag} behind)"))
    if policy.require_autopilot and health.autopilot_healthy is not True:
        seen = "unhealthy" if health.autopilot_healthy is False else "health unknown"
        out.append(("AutopilotUnhealthy", f"autopilot: {seen}"))
    return out


def decide(*, health: PodHealth, target: str, elapsed: timedelta, policy: GatePolicy) -> GateDecision:
    """Wait, go on (``Ok``) or stop for the pod replaced ``elapsed`` ago (see the module docstring)."""
    missing = unmet(health, target=target, policy=policy)
    pending = tuple(name for name, _ in missing)
    if not missing:
        return GateDecision(Verdict.OK, "Healthy", f"{health.pod} runs {target}, unsealed, caught up, a healthy voter")
    if health.restarts >= policy.crash_restarts:
        return GateDecision(
            Verdict.STOP,
            "CrashLooping",
            f"{health.pod} restarted {health.restarts} times since it was replaced with {target}; "
            f"the upgrade stops here ({missing[0][0]}: {missing[0][1]})",
            pending,
        )
    first, seen = missing[0]
    if first == "WrongVersion" and not health.sealed:
        return GateDecision(
            Verdict.STOP, "WrongVersion", f"{health.pod} came back unsealed but {seen}; the upgrade stops here", pending
        )
    if elapsed >= policy.timeout:
        return GateDecision(
            Verdict.STOP,
            "HealthTimeout",
            f"{health.pod} not healthy {int(policy.timeout.total_seconds())}s after it was replaced with {target}: "
            f"{first} ({seen}); the upgrade stops here",
            pending,
        )
    return GateDecision(
        Verdict.WAIT,
        first,
        f"waiting for {health.pod}: {first} ({seen})",
        pending,
        requeue_after=min(POLL, policy.timeout - elapsed),
    )
