"""Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it.

Why: two replicas give fast failover, but two active reconcilers would fight over the same objects. The
algorithm (client-go ``tryAcquireOrRenew``), step by step:

1. GET the Lease; if absent, CREATE it holding it ourselves (AlreadyExists: someone was faster).
2. Whenever the record (holder, renewTime, ...) differs from the last one seen, note *our* clock time.
   A lease is held by another until ``observed_time + leaseDurationSeconds`` on our monotonic clock:
   their clock and their renewTime are never compared with ours (no clock-skew assumptions).
3. Take or renew it with an optimistic UPDATE carrying the resourceVersion we read: a 409 means another
   replica wrote first, and we simply did not get it this round.
4. A leader renews every ``retry_period``; if it cannot renew within ``renew_deadline`` it has lost the
   lease and must stop at once (the process exits), since another replica may take over at
   ``lease_duration``. Defaults are client-go's: 15 s / 10 s / 2 s.
5. On a clean shutdown the leader releases the lease (empty holder), so a successor need not wait.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from openbao_operator.kube import AlreadyExists, Conflict, KubeClient, KubeError, NotFound, resource_type

from .logs import get_logger
from .metrics import RuntimeMetrics

log = get_logger(__name__)

LEASE = resource_type("coordination.k8s.io/v1", "Lease")


class LeadershipLost(Exception):  # noqa: N818 - an event, named as one
    """The lease could not be renewed within the renew deadline: stop reconciling and exit."""


@dataclass(frozen=True)
class LeaseConfig:
    """Which Lease, who we are, and client-go's timing (seconds)."""

    name: str
    namespace: str
    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not (self.lease_duration > self.renew_deadline > self.retry_period > 0):
            raise ValueError("lease needs lease_duration > renew_deadline > retry_period > 0")
        if not self.identity:
            raise ValueError("lease identity must not be empty")


def micro_time(when: datetime) -> str:
    """A meta/v1 MicroTime: RFC 3339 in UTC with microseconds."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _wall_now() -> datetime:
    return datetime.now(UTC)


class LeaderElector:
    """Acquires and keeps one Lease; :meth:`run` runs a coroutine only while leading."""

    def __init__(
        self,
        kube: KubeClient,
        config: LeaseConfig,
        *,
        rng: random.Random,
        metrics: RuntimeMetrics | None = None,
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], datetime] = _wall_now,
    ) -> None:
        self.kube = kube
        self.config = config
        self._rng = rng
        self._metrics = metrics
        self._clock = clock
        self._wall_clock = wall_clock
        self._observed: dict[str, Any] | None = None
        self._observed_time = 0.0
        self._leading = False

    @property
    def is_leader(self) -> bool:
        return self._leading

    @property
    def holder(self) -> str | None:
        """The holder in the last record seen (ours or another's)."""
        return (self._observed or {}).get("holderIdentity") or None

    async def run(self, leading: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Wait to acquire the lease, run ``leading()`` while holding it, release it when it returns.

        Raises :class:`LeadershipLost` (after cancelling ``leading``) when renewal fails.
        """
        await self.acquire()
        lead = asyncio.create_task(leading(), name="leader-work")
        renew = asyncio.create_task(self._renew_loop(), name="lease-renew")
        try:
            done, _ = await asyncio.wait({lead, renew}, return_when=asyncio.FIRST_COMPLETED)
            if renew in done:
                lead.cancel()
                await asyncio.gather(lead, return_exceptions=True)
                renew.result()  # raises LeadershipLost
            lead.result()
        finally:
            for task in (lead, renew):
                task.cancel()
            await asyncio.gather(lead, renew, return_exceptions=True)
            await self.release()

    async def acquire(self) -> None:
        """Return once we hold the lease, trying every retry_period (with jitter)."""
        log.info("waiting for leadership", lease=self.config.name, identity=self.config.identity)
        # NB: polling is the protocol here; the API has no "lease expired" notification to wait on.
        while True:
            if await self.try_acquire_or_renew():
                break
            await asyncio.sleep(self.config.retry_period * (1.0 + 0.2 * self._rng.random()))
        log.info("became leader", lease=self.config.name, identity=self.config.identity)

    async def _renew_loop(self) -> None:
        cfg = self.config
        while True:
            await asyncio.sleep(cfg.retry_period)
            deadline = self._now() + cfg.renew_deadline
            while not await self.try_acquire_or_renew():
                if self._now() + cfg.retry_period > deadline:
                    self._set_leading(False)
                    log.error("leadership lost", lease=cfg.name, identity=cfg.identity, holder=self.holder)
                    raise LeadershipLost(
                        f"could not renew lease {cfg.namespace}/{cfg.name} within {cfg.renew_deadline}s"
                    )
                await asyncio.sleep(cfg.retry_period)

    async def try_acquire_or_renew(self) -> bool:
        """One round of the algorithm in the module docstring; True when we hold the lease afterwards."""
        cfg = self.config
        now = micro_time(self._wall_clock())
        mine = {
            "holderIdentity": cfg.identity,
            "leaseDurationSeconds": int(cfg.lease_duration),
            "acquireTime": now,
            "renewTime": now,
            "leaseTransitions": 0,
        }
        try:
            lease = await self.kube.get(LEASE, cfg.name, namespace=cfg.namespace)
        except NotFound:
            body = {
                "apiVersion": LEASE.api_version,
                "kind": LEASE.kind,
                "metadata": {"name": cfg.name, "namespace": cfg.namespace},
                "spec": mine,
            }
            try:
                created = await self.kube.create(body)
            except (AlreadyExists, KubeError) as exc:
                log.debug("lease create failed", error=str(exc))
                return self._set_leading(False)
            self._observe(created["spec"])
            return self._set_leading(True)
        except KubeError as exc:
            log.warning("lease read failed", error=str(exc))
            return self._set_leading(False)

        record = dict(lease.get("spec") or {})
        if record != self._observed:
            self._observe(record)
        holder = record.get("holderIdentity") or ""
        duration = float(record.get("leaseDurationSeconds") or cfg.lease_duration)
        if holder and holder != cfg.identity and self._observed_time + duration > self._now():
            return self._set_leading(False)
        if holder == cfg.identity:
            mine["acquireTime"] = record.get("acquireTime") or now
            mine["leaseTransitions"] = int(record.get("leaseTransitions") or 0)
        else:
            mine["leaseTransitions"] = int(record.get("leaseTransitions") or 0) + 1
        lease["spec"] = mine
        try:
            updated = await self.kube.replace(lease)  # carries metadata.resourceVersion: optimistic
        except Conflict:
            return self._set_leading(False)
        except KubeError as exc:
            log.warning("lease update failed", error=str(exc))
            return self._set_leading(False)
        self._observe(updated["spec"])
        return self._set_leading(True)

    async def release(self) -> None:
        """Give the lease up (empty holder, 1 s duration) if we hold it; errors are logged, not raised."""
        if not self._leading:
            return
        cfg = self.config
        self._set_leading(False)
        try:
            lease = await self.kube.get(LEASE, cfg.name, namespace=cfg.namespace)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != cfg.identity:
                return
            now = micro_time(self._wall_clock())
            lease["spec"] = {**spec, "holderIdentity": None, "leaseDurationSeconds": 1, "renewTime": now}
            await self.kube.replace(lease)
            log.info("released leadership", lease=cfg.name, identity=cfg.identity)
        except KubeError as exc:
            log.warning("lease release failed", error=str(exc))

    def _observe(self, record: dict[str, Any]) -> None:
        self._observed = dict(record)
        self._observed_time = self._now()

    def _set_leading(self, leading: bool) -> bool:
        self._leading = leading
        if self._metrics is not None:
            self._metrics.leader_status.labels(self.config.name).set(1 if leading else 0)
        return leading

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()
