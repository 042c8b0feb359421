"""One level-triggered reconcile of one OpenBaoCluster: the ordered steps, and the driver that runs them.

Why one pass over the whole cluster (and no decision carried over from earlier passes): every pass
recomputes the desired state from the spec and what it observes, so a pass after a crash, a missed event or
a restart decides exactly what an uninterrupted operator would have. What the process remembers only saves
work or paces it (controller/memo.py: parsed models and renders keyed by what feeds them;
controller/waiting.py: when to ask a waiting pod-0 again); a restart just starts both over. One pass is
less than whole: a timer's pass over a cluster waiting for pod-0, with no watch event since its last full
pass, asks pod-0 alone (``_probe_only``; controller/waiting.py bounds how long that may go on).

Each step is a module's ``step(ctx) -> Report`` (controller/step.py): it reads the facts the steps before
it found, does its own I/O, and reports problems, Events, requeues, a hold on the StatefulSet, or that the
pass stops here. The driver runs :data:`STEPS` in order, folds the reports, and at the end (or at a stop)
writes the status (only when it changed) and the Events, and answers the runtime with an :class:`Outcome`.
docs/architecture.md lists the steps and where a new one goes.

Every write goes through :class:`kube.Applier` or a create/patch/delete that is conditional on an
observed difference, so an unchanged cluster costs zero write requests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

from openbao_operator import pki, seal
from openbao_operator.api import ConditionType
from openbao_operator.baoapi import BaoUnavailable
from openbao_operator.kube import Applier, KubeClient, Manifest, ObjectKey

from . import (
    acme,
    apply,
    backups,
    bootstrap,
    deletion,
    desired,
    prune,
    rollout,
    rotation,
    scaling,
    security,
    summary,
    tenancy,
    upgrades,
    validate,
    workload,
)
from .backup_metrics import BackupMetrics
from .bootstrap import BaoConnect, UnstoredInitResults, default_connect, hold_replicas
from .concurrent import each
from .conditions import Cond, changed
from .identity import IdentitySource
from .image import Verifier
from .kinds import CLUSTER
from .memo import Memo
from .operator_token import OperatorTokens
from .sources import Reader
from .status import status_differs
from .step import Clients, Context, EventSink, EventType, Outcome, ReconcilerConfig, Report, Step, Touches
from .waiting import Waits

__all__ = ["STEPS", "EventSink", "Outcome", "Reconciler", "ReconcilerConfig", "hold_replicas", "status_differs"]

T = ConditionType
UPGRADE_REFUSALS = frozenset({"DowngradeRefused", "RollbackRefused", "RequiredStopSkipped", "InvalidVersion"})
"""Upgrading reasons of a version change that is not carried out: a Warning when the condition turns to one."""

STEPS: tuple[Step, ...] = (
    tenancy.step,  # a namespace that did not opt in: TenantOnboarded=False, nothing else read or written
    deletion.step,  # being deleted: the deletion policy, then stop
    validate.parse,  # the spec parses (else ConfigurationValid=False, stop)
    workload.observe,  # the live StatefulSet, the pods, initialized, the operator's render facts
    validate.paused,  # spec.paused: status says so, stop
    validate.step,  # Hardened profile, trial render (else ConfigurationValid=False, stop)
    security.step,  # finalizer, TLS Secrets, static unseal key, image verdict (concurrently)
    bootstrap.step,  # initialize pod-0 once, revoke the root token, replicas held while init is unknown
    upgrades.begin,  # a version change: the version to render, the Upgrade lock, the pre-upgrade snapshot
    rotation.step,  # a static key rotation retires the old key once OpenBao has rewrapped
    scaling.step,  # a scale-down steps a leaving leader down and removes leaving peers first
    desired.step,  # render with the facts
    apply.step,  # apply what differs, stage by stage
    prune.step,  # delete owned objects the render no longer produces
    rollout.step,  # at most one out-of-date pod replaced (in an upgrade: after the health gate)
    upgrades.finish,  # the upgrade's lock released when done, its Events, status.currentVersion
    backups.step,  # a due backup's executor Job under the operation lock; a finished one recorded
    summary.step,  # status and the requeue for time-based work
)
"""The reconcile, in order. A new step: a module with ``async def step(ctx) -> Report``, placed here after the
steps whose facts it reads and before those that read its own."""


def _wall_now() -> datetime:
    return datetime.now(UTC)


class Reconciler:
    """Reconciles OpenBaoClusters; one instance per process, shared by the workers (it holds no per-key state)."""

    def __init__(
        self,
        *,
        kube: KubeClient,
        reader: Reader,
        events: EventSink,
        verifier: Verifier,
        config: ReconcilerConfig,
        tenancy_view: tenancy.TenancyView,
        clock: Callable[[], datetime] = _wall_now,
        token_bytes: seal.TokenBytes | None = None,
        new_key: pki.KeyFactory = pki.generate_p256_key,
        new_serial: pki.SerialFactory = pki.random_serial,
        bao_connect: BaoConnect = default_connect,
        resolve: acme.Resolver = acme.system_resolver,
        steps: tuple[Step, ...] = STEPS,
        registry: CollectorRegistry | None = None,
        touched: Touches | None = None,
    ) -> None:
        self.clients = Clients(
            kube=kube,
            reader=reader,
            applier=Applier(kube),
            events=events,
            verifier=verifier,
            config=config,
            tenancy=tenancy_view,
            clock=clock,
            connect=bao_connect,
            resolve=resolve,
            unstored=UnstoredInitResults(),
            token_bytes=token_bytes,
            new_key=new_key,
            new_serial=new_serial,
            memo=Memo(),
            waits=Waits(),
            identity=IdentitySource(kube, service_account=config.operator_service_account),
            operator_tokens=OperatorTokens(kube),
            backup_metrics=BackupMetrics(registry) if registry is not None else None,
            touched=touched,
        )
        self.steps = steps

    # NB: settings some end-to-end tests change on a running operator (a later clock, shorter timeouts)
    @property
    def clock(self) -> Callable[[], datetime]:
        return self.clients.clock

    @clock.setter
    def clock(self, clock: Callable[[], datetime]) -> None:
        self.clients = dataclasses.replace(self.clients, clock=clock)

    @property
    def config(self) -> ReconcilerConfig:
        return self.clients.config

    @config.setter
    def config(self, config: ReconcilerConfig) -> None:
        self.clients = dataclasses.replace(self.clients, config=config)

    async def reconcile(self, key: ObjectKey) -> Outcome:
        raw = await self.clients.reader.get(CLUSTER, key)
        touched = self.clients.touched
        brought_by_event = touched is None or touched.take(key)  # NB: taken also for a deleted cluster
        if raw is None:
            if self.clients.backup_metrics is not None:
                self.clients.backup_metrics.forget(key.namespace, key.name)
            self.clients.waits.settle(key, waited=False, others=None)
            return Outcome()
        if not brought_by_event:
            quick = await self._probe_only(raw, key)
            if quick is not None:
                return quick
        ctx = Context(clients=self.clients, key=key, raw=raw, now=self.clients.clock())
        try:
            for step in self.steps:
                ctx.so_far.fold(await step(ctx))
                if ctx.so_far.stop:
                    break
            await self._report(ctx.raw, key, ctx.so_far)
        except BaseException:
            self.clients.waits.settle(key, waited=False, others=None)  # the retry is a full pass
            raise
        self._settle_wait(ctx)
        return ctx.so_far.outcome()

    async def _probe_only(self, raw: Manifest, key: ObjectKey) -> Outcome | None:
        """A timer's pass over a cluster waiting for pod-0, with no watch event since its last full pass: ask
        pod-0 alone (controller/waiting.py says when that is enough). None: do the full pass."""
        waits = self.clients.waits
        quick = waits.quick(key)
        if quick is None or (raw.get("metadata") or {}).get("deletionTimestamp"):
            return None
        try:
            await self.clients.connect(quick.target).initialized()
        except BaoUnavailable:
            delay = waits.probed(key, live_status=raw.get("status"))
            return Outcome(requeue_after=delay) if delay is not None else None
        except Exception:
            # an error answer, or anything unexpected: the full pass meets it and reports it (NB: raising here
            # would retry, with backoff, into this same probe and never reach a full pass)
            return None
        return None  # it answered: the full pass acts on the answer (and asks once more)

    def _settle_wait(self, ctx: Context) -> None:
        """Tell the waits what a full pass decided: whether it waited for pod-0, when its other work is due."""
        report, delay = ctx.so_far, ctx.facts.wait_delay
        waited = delay is not None and not report.backoff
        others = list(report.requeue_at)
        if waited and delay in others:
            others.remove(delay)
        self.clients.waits.settle(ctx.key, waited=waited, others=min(others) if others else None)

    async def _report(self, raw: Manifest, key: ObjectKey, report: Report) -> None:
        """The status (when it changed) and the Events of the pass, concurrently."""
        writes = [self._record(raw, *e) for e in report.events]
        if report.status is not None:
            writes.insert(0, self._write_status(raw, key, report.status, transitions=report.transitions))
        await each(writes)

    async def _write_status(
        self, raw: Manifest, key: ObjectKey, status: dict[str, object], *, transitions: tuple[Cond, ...]
    ) -> None:
        live_status = raw.get("status") or {}
        if not status_differs(status, live_status):
            return
        # The Events of the transitions go first, each named by the condition it leaves: a process that dies
        # after them redoes the transition and finds them there; one that died between the status and its
        # Events would have lost them (the next pass sees no transition left).
        live_conditions = live_status.get("conditions")
        for cond in changed(transitions, live_conditions):
            announced = _announcement(cond)
            if announced is not None:
                type_, reason, action, note = announced
                await self._record(raw, type_, reason, action, note, once=_leaving(cond, live_conditions))
        body = {
            "apiVersion": raw["apiVersion"],
            "kind": raw["kind"],
            "metadata": {"name": key.name, "namespace": key.namespace},
            "status": status,
        }
        result = await self.clients.kube.apply_status(body, force=True)
        self.clients.reader.wrote(CLUSTER, key, result)

    async def _record(
        self, raw: Manifest, type_: EventType, reason: str, action: str, note: str, *, once: str | None = None
    ) -> None:
        await self.clients.events.record(raw, type=type_, reason=reason, action=action, note=note, once=once)


def _leaving(cond: Cond, live: object) -> str:
    """What identifies a transition of ``cond``: the live condition of its type it replaces (status, reason and
    lastTransitionTime; none at all) and where it goes. Redone after a crash, the same; a later transition of the
    same kind leaves a newer condition."""
    before = (
        next((c for c in live if isinstance(c, dict) and c.get("type") == cond.type), None)
        if isinstance(live, list)
        else None
    )
    left = (
        "-" if before is None else f"{before.get('status')}/{before.get('reason')}/{before.get('lastTransitionTime')}"
    )
    return f"{cond.type}:{left}->{cond.status}/{cond.reason}"


def _announcement(cond: Cond) -> tuple[EventType, str, str, str] | None:
    """The Event (type, reason, action, note) a condition's transition deserves, if any."""
    if cond.status == "False" and cond.type == T.CONFIGURATION_VALID.value:
        return "Warning", cond.reason, "Validate", cond.message
    if cond.type == T.SECURITY_RISK.value and cond.status == "True":
        return "Warning", cond.reason, "Reconcile", cond.message
    if cond.type == T.TLS_READY.value and cond.status == "False":
        return "Warning", cond.reason, "CheckTLS", cond.message
    if cond.type == T.UPGRADING.value and cond.reason in UPGRADE_REFUSALS:
        return "Warning", cond.reason, "Upgrade", cond.message
    if cond.type == T.UNSEAL_KEY_ROTATING.value and cond.reason == seal.UnsealKeyReason.ROTATION_DEFERRED:
        return "Normal", cond.reason, "RotateUnsealKey", cond.message
    if cond.type == T.UNSEAL_KEY_ROTATING.value and cond.reason == seal.UnsealKeyReason.ROTATING:
        note = (
            f"{cond.message}; back the new key Secret up (losing it loses the data); pods restart through the rollout"
        )
        return "Normal", "UnsealKeyRotationStarted", "RotateUnsealKey", note
    return None
