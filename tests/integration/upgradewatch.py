"""A timeline of a rolling upgrade as seen from outside the operator: every pod incarnation and the gate.

Why a module of its own: the SIGKILL test (test_upgrade_kill.py) and the upgrade benchmark
(scripts/bench_upgrade.py) need the same observations: when each pod was deleted, when its replacement
appeared, ran, became Ready and passed the upgrade's health gate (``status.upgrade.pods[].state``), which
pod was active at each sample, and how many pods were unavailable at once. One poller (every 0.2 s, admin
client) records it all; nothing here asserts.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from openbao_operator import kube
from openbao_operator.controller import kinds

SAMPLE_SECONDS = 0.2


def _ready(pod: dict[str, Any]) -> bool:
    conds = (pod.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


@dataclass
class Life:
    """One incarnation (uid) of a pod; times are ``time.monotonic()`` at the first sample that saw them."""

    name: str
    uid: str
    seen_at: float
    running_at: float | None = None
    ready_at: float | None = None
    healthy_at: float | None = None
    """First sample where status.upgrade.pods said Healthy for this pod while this incarnation ran."""
    deleting_at: float | None = None
    """First sample with a deletionTimestamp, or without the pod at all."""


@dataclass
class Sample:
    at: float
    unavailable: tuple[str, ...]
    """Pods missing, terminating or not Ready."""
    upgrade_phase: str | None
    gate: dict[str, str]
    """status.upgrade.pods: name -> state."""
    waiting_for: str | None = None
    """status.rollout.waitingFor (e.g. the gate's unmet check)."""


@dataclass
class UpgradeTimeline:
    """Polls the pods and the cluster of ``name`` every :data:`SAMPLE_SECONDS` until stopped (bounded)."""

    client: kube.KubeClient
    namespace: str
    name: str
    replicas: int = 3
    lives: dict[str, list[Life]] = field(default_factory=dict)
    actives: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    completed_at: float | None = None
    errors: list[str] = field(default_factory=list)

    def pod(self, ordinal: int) -> str:
        return f"{self.name}-{ordinal}"

    @property
    def last(self) -> Sample | None:
        return self.samples[-1] if self.samples else None

    async def run(self, stop: asyncio.Event, *, bound: float = 900.0) -> None:
        deadline = time.monotonic() + bound
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                await self.sample()
            except kube.KubeError as exc:  # a slow API server: note it, look again
                self.errors.append(str(exc))
            await asyncio.sleep(SAMPLE_SECONDS)

    async def sample(self) -> None:
        labels = {"app.kubernetes.io/instance": self.name}
        pods = (await self.client.list(kinds.POD, namespace=self.namespace, labels=labels)).items
        obj = await self.client.get(kinds.CLUSTER, self.name, namespace=self.namespace)
        now = time.monotonic()
        up = (obj.get("status") or {}).get("upgrade") or {}
        gate = {str(p.get("name")): str(p.get("state")) for p in up.get("pods") or ()}
        present: dict[str, dict[str, Any]] = {str(p["metadata"]["name"]): p for p in pods}
        for pod_name, pod in present.items():
            uid = str(pod["metadata"]["uid"])
            lives = self.lives.setdefault(pod_name, [])
            if not lives or lives[-1].uid != uid:
                if lives and lives[-1].deleting_at is None:
                    lives[-1].deleting_at = now
                lives.append(Life(pod_name, uid, now))
            life = lives[-1]
            terminating = bool(pod["metadata"].get("deletionTimestamp"))
            if terminating and life.deleting_at is None:
                life.deleting_at = now
            if life.running_at is None and (pod.get("status") or {}).get("phase") == "Running":
                life.running_at = now
            if life.ready_at is None and _ready(pod) and not terminating:
                life.ready_at = now
            if life.healthy_at is None and life.ready_at is not None and gate.get(pod_name) == "Healthy":
                life.healthy_at = now
            is_active = (pod["metadata"].get("labels") or {}).get("openbao-active") == "true" and not terminating
            if is_active and (not self.actives or self.actives[-1] != pod_name):
                self.actives.append(pod_name)
        for pod_name, lives in self.lives.items():
            if pod_name not in present and lives and lives[-1].deleting_at is None:
                lives[-1].deleting_at = now
        unavailable = []
        for i in range(self.replicas):
            seen = present.get(self.pod(i))
            if seen is None or seen["metadata"].get("deletionTimestamp") or not _ready(seen):
                unavailable.append(self.pod(i))
        phase = str(up.get("phase")) if up.get("phase") else None
        if phase == "Completed" and self.completed_at is None:
            self.completed_at = now
        waiting = ((obj.get("status") or {}).get("rollout") or {}).get("waitingFor")
        self.samples.append(Sample(now, tuple(unavailable), phase, gate, str(waiting) if waiting else None))

    def gate_waits(self) -> list[str]:
        """Every distinct status.rollout.waitingFor about the health gate, in the order seen."""
        out: list[str] = []
        for s in self.samples:
            if s.waiting_for and "health gate" in s.waiting_for and s.waiting_for not in out:
                out.append(s.waiting_for)
        return out

    def replacements(self) -> list[tuple[str, Life, Life]]:
        """(pod, old incarnation, new incarnation) for every replacement seen, in the order of deletion."""
        out = []
        for pod_name, lives in self.lives.items():
            out += [(pod_name, old, new) for old, new in itertools.pairwise(lives)]
        return sorted(out, key=lambda r: r[1].deleting_at or r[2].seen_at)

    def windows(self) -> list[tuple[str, float, float | None]]:
        """(pod, deleted, new incarnation Ready) per replacement: the time the pod was out of service."""
        return [(pod_name, old.deleting_at or new.seen_at, new.ready_at) for pod_name, old, new in self.replacements()]

    def overlaps(self) -> list[tuple[str, str]]:
        """Pairs of replacement windows that overlap in time (an unfinished window lasts forever)."""
        wins = self.windows()
        out = []
        for i, (a, a0, a1) in enumerate(wins):
            for b, b0, b1 in wins[i + 1 :]:
                if a0 < (b1 if b1 is not None else float("inf")) and b0 < (a1 if a1 is not None else float("inf")):
                    out.append((a, b))
        return out

    def phase_at(self, at: float) -> str:
        """What the upgrade was doing at ``at`` (from the last sample before it), for a kill's label: the pods
        as the API server showed them, and the gate's last word in status (which lags by a pass)."""
        before = [s for s in self.samples if s.at <= at]
        if not before:
            return "before-first-sample"
        s = before[-1]
        if s.upgrade_phase == "Completed":
            return "completed"
        if s.unavailable:
            pod_name = s.unavailable[0]
            current = [lf for lf in self.lives.get(pod_name) or () if lf.seen_at <= s.at]
            if current and current[-1].deleting_at is not None and current[-1].deleting_at <= s.at:
                return f"replacement:{pod_name}-deleting"
            return f"replacement:{pod_name}-starting"
        replaced = [n for n, lives in self.lives.items() if len([lf for lf in lives if lf.seen_at <= s.at]) > 1]
        if not replaced:
            return "before-first-deletion"
        if any(s.gate.get(n) == "Replacing" for n in replaced):
            return f"gate-wait:{len(replaced)}-replaced"
        if len(replaced) == self.replicas - 1:
            return "before-active-step-down"
        if len(replaced) >= self.replicas:
            return "last-gate-and-completion"
        return f"before-next-standby:{len(replaced)}-replaced"
