"""The shape every reconcile step has: one context in, one report out.

Why one shape: the reconcile is an ordered list of steps (``reconciler.STEPS``); each reads what the steps
before it found (:class:`Facts`, on the :class:`Context`), does its own I/O, and says what it found in a
:class:`Report` (problems, Events, when to look again, whether to hold the StatefulSet back, whether the pass
stops here). The driver folds the reports; the next step sees the fold so far (``ctx.so_far``). A new step is
one module with ``async def step(ctx: Context) -> Report`` and one entry in ``STEPS``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from openbao_operator.kube import Applier, KubeClient, Manifest, NotFound, ObjectKey

from .conditions import Cond
from .kinds import CLUSTER
from .status import Problem

if TYPE_CHECKING:
    from pydantic import BaseModel

    from openbao_operator import pki, seal
    from openbao_operator.api import OpenBaoCluster
    from openbao_operator.api.status import BackupStatus
    from openbao_operator.imagesig import ImageDecision
    from openbao_operator.render.desired import DesiredState
    from openbao_operator.render.facts import RenderFacts

    from .acme import Resolver
    from .backup_metrics import BackupMetrics
    from .bootstrap import BaoConnect, UnstoredInitResults
    from .identity import IdentitySource
    from .image import Verifier
    from .memo import Memo
    from .operator_token import OperatorTokens
    from .profile import ProfileVerdict
    from .sources import Reader
    from .tenancy import TenancyView
    from .tls import TlsOutcome
    from .unseal import UnsealOutcome
    from .upgrade.progress import UpgradeRun
    from .waiting import Waits

EventType = Literal["Normal", "Warning"]
_T = TypeVar("_T")
_M = TypeVar("_M", bound="BaseModel")
FOREIGN_RECHECK_SECONDS = 10.0
"""An object of ours by name but not ours blocks the pass: look again this often. Secrets are never watched
(least privilege), so a user labelling one for adoption sends no event the operator could see."""


class Touches(Protocol):
    """``runtime.Touched`` as the reconcile uses it: whether a watch event queued the key since its last pass."""

    def take(self, key: ObjectKey, /) -> bool: ...


class EventSink(Protocol):
    """``runtime.EventRecorder`` as the reconcile uses it."""

    async def record(
        self,
        regarding: Manifest,
        *,
        type: EventType,
        reason: str,
        action: str,
        note: str,
        once: str | None = None,
    ) -> None: ...


def _default_tls_policy() -> pki.RotationPolicy:
    # NB: imported here, not at module level: pki loads cryptography, which the process start path (the
    # tenancy step is imported by the wiring) does not need before the first reconcile (issue 20)
    from openbao_operator import pki

    return pki.DEFAULT_POLICY


@dataclass(frozen=True, kw_only=True)
class ReconcilerConfig:
    """Operator-wide settings the reconcile depends on."""

    cluster_domain: str = "cluster.local"
    operator_namespace: str = "openbao-operator-system"
    api_server_cidr: str | None = None
    """The API server as a CIDR (detected at start) for the NetworkPolicy, unless the spec sets one."""
    resync_seconds: float = 600.0
    """Look at every cluster at least this often (a level-triggered safety net; costs no write)."""
    wait_seconds: float = 1.0
    """Requeue delay while waiting for something quick (a StatefulSet being deleted with orphans)."""
    gateway_missing_seconds: float = 1200.0
    rollout_ready_timeout: float = 600.0
    """A rollout replacement not Ready within this many seconds halts the rollout (RolloutStalled)."""
    tls_policy: pki.RotationPolicy = field(default_factory=_default_tls_policy)
    """Certificate lifetimes and renewal windows; end-to-end tests shorten them to see rotations in minutes."""
    operator_service_account: str = "openbao-operator"
    """The operator's ServiceAccount (in ``operator_namespace``): selfInit.oidc binds the operator's JWT role to it."""
    executor_image: str = ""
    """The image of the backup and restore executor Jobs (the operator's own); empty: the spec must name one."""


@dataclass(frozen=True)
class Outcome:
    """What the runtime should do next with the key."""

    requeue_after: float | None = None
    requeue: bool = False
    """Again with backoff (a blocked image, a failed image verification)."""


@dataclass
class Report:
    """What one step found; the driver folds the reports of a pass into one (:meth:`fold`)."""

    problems: list[Problem] = field(default_factory=list)
    """The first problem of the pass becomes workload.lastError."""
    events: list[tuple[EventType, str, str, str]] = field(default_factory=list)
    """(type, reason, action, note), recorded once the pass ends."""
    requeue_at: list[float] = field(default_factory=list)
    """Look again after the shortest of these (seconds)."""
    backoff: bool = False
    """Again with the runtime's backoff instead of a requeue-after."""
    hold_statefulset: bool = False
    """Neither create nor update the StatefulSet, nor replace a pod, in this pass."""
    stop: bool = False
    """The pass ends after this step: the driver writes the status and Events so far and answers."""
    status: dict[str, Any] | None = None
    """The status to write (only when it differs from the live one)."""
    transitions: tuple[Cond, ...] = ()
    """Conditions whose change is worth an Event (``reconciler._write_status``)."""

    def problem(self, reason: str, message: str) -> None:
        self.problems.append(Problem(reason, message))

    def event(self, type_: EventType, reason: str, action: str, note: str) -> None:
        self.events.append((type_, reason, action, note))

    def after(self, seconds: float) -> None:
        self.requeue_at.append(max(0.0, seconds))

    def foreign(self, message: str, *, hold: bool) -> None:
        """An object of our name that is not ours is in the way (controller/ownership.py): report, never write."""
        self.problem("ForeignObject", message)
        self.event("Warning", "ForeignObject", "Apply", message)
        self.hold_statefulset = self.hold_statefulset or hold
        self.after(FOREIGN_RECHECK_SECONDS)

    def take(self, step: BaoStepResult, *, action: str) -> None:
        """What a call to OpenBao (bootstrap, rollout) reports: a Normal Event, a problem, a requeue."""
        if step.event is not None:
            self.event("Normal", step.event[0], action, step.event[1])
        if step.problem is not None:
            self.problem(step.problem.reason, step.problem.message)
        if step.retry_after is not None:
            self.after(step.retry_after)

    def fold(self, other: Report) -> None:
        """Add ``other`` (a later step's report) to this one."""
        self.problems.extend(other.problems)
        self.events.extend(other.events)
        self.requeue_at.extend(other.requeue_at)
        self.backoff = self.backoff or other.backoff
        self.hold_statefulset = self.hold_statefulset or other.hold_statefulset
        self.stop = self.stop or other.stop
        if other.status is not None:
            self.status, self.transitions = other.status, other.transitions

    def outcome(self) -> Outcome:
        if self.backoff:
            return Outcome(requeue=True)
        return Outcome(requeue_after=min(self.requeue_at)) if self.requeue_at else Outcome()


class BaoStepResult(Protocol):
    """The result of a call to OpenBao (``BootstrapOutcome``, ``RolloutResult``)."""

    @property
    def event(self) -> tuple[str, str] | None: ...
    @property
    def problem(self) -> Problem | None: ...
    @property
    def retry_after(self) -> float | None: ...


@dataclass(frozen=True, kw_only=True)
class Clients:
    """What every pass uses and no pass owns: clients, settings, the clock, factories (all injected)."""

    kube: KubeClient
    reader: Reader
    applier: Applier
    events: EventSink
    verifier: Verifier
    config: ReconcilerConfig
    tenancy: TenancyView
    clock: Callable[[], datetime]
    connect: BaoConnect
    resolve: Resolver
    unstored: UnstoredInitResults
    token_bytes: seal.TokenBytes | None
    new_key: pki.KeyFactory
    new_serial: pki.SerialFactory
    memo: Memo
    """Parsed models and renders remembered across passes (controller/memo.py)."""
    waits: Waits
    """The pacing of checks of clusters waiting for pod-0 (controller/waiting.py)."""
    identity: IdentitySource | None = None
    """The ServiceAccount issuer and keys for selfInit.oidc (controller/identity.py); None: never read."""
    operator_tokens: OperatorTokens | None = None
    """The operator's own OpenBao tokens for selfInit.oidc clusters (controller/operator_token.py); None: none."""
    backup_metrics: BackupMetrics | None = None
    """Prometheus metrics of backups (controller/backup_metrics.py); None: not exported."""
    touched: Touches | None = None
    """Which passes a watch event brought (the others a timer did); None: every pass counts as brought by an
    event, so every pass is a full one."""


@dataclass
class Facts:
    """What the steps so far have found; each field is set by the step named, and read only after it."""

    cluster: OpenBaoCluster | None = None
    """parse."""
    live_sts: Manifest | None = None
    """observe (and read again after apply and after rollout): the live StatefulSet when it is ours."""
    pods: list[Manifest] = field(default_factory=list)
    """observe."""
    initialized: bool = False
    """observe; bootstrap may turn it True."""
    replicas: int | None = None
    """The StatefulSet's replicas when a step holds them (bootstrap: initialization unknown; scale-down: a
    step-down or peer removal pending); None: the render decides (1 before initialization, else the spec).
    Render puts it into ``RenderFacts.replicas``, so the count is decided once, before rendering."""
    target_replicas: int = 0
    """bootstrap: the replicas this pass heads for, a pending scale-down apart (status.workload)."""
    wait_delay: float | None = None
    """bootstrap: pod-0 did not answer; the next check of the wait is due in this many seconds
    (controller/waiting.py). None: this pass did not wait for pod-0."""
    render: RenderFacts | None = None
    """observe: the operator's settings and what is observed; the render step adds what later steps found."""
    profile: ProfileVerdict | None = None
    """validate."""
    fields_ignored: Cond | None = None
    configuration: Cond | None = None
    tls: TlsOutcome | None = None
    """security."""
    unseal: UnsealOutcome | None = None
    """security (None: the seal is not a static key); rotation may replace it."""
    image: ImageDecision | None = None
    """security."""
    rotation_waiting_for: str = ""
    """rotation: what a static key rotation waits for before the old key can be retired."""
    desired: DesiredState | None = None
    """render."""
    rollout_waiting_for: str | None = None
    """rollout."""
    backup_status: BackupStatus | None = None
    """backup: status.backup to write (None: none)."""
    backup_conditions: tuple[Cond, ...] = ()
    """backup: BackupHealthy and BackingUp (none without spec.backup)."""
    upgrade: UpgradeRun | None = None
    """upgrades.begin (moved on by the rollout's gate): this pass's part of a version upgrade."""
    held_image: str | None = None
    """upgrades.begin: the image the live template runs at the held version (rendered instead of the spec's)."""
    current_version: str | None = None
    """upgrades.finish: status.currentVersion."""


@dataclass
class Context:
    """One pass over one cluster: the clients, the key, the raw object, the time, and the facts so far."""

    clients: Clients
    key: ObjectKey
    raw: Manifest
    now: datetime
    facts: Facts = field(default_factory=Facts)
    so_far: Report = field(default_factory=Report)
    """The fold of the reports of the steps before this one."""
    _owner_live: bool | None = field(default=None, init=False, repr=False)

    async def owner_is_live(self) -> bool:
        """The cluster this pass works for is, on the API server now, the same object and not being deleted.

        Asked (once per pass) before adopting an orphan. The pass may have started from a cached cluster
        that an orphaning delete has since removed; the collector has just taken that cluster's
        ownerReference off its objects, and writing it back would make the collector delete them (the
        StatefulSet of a live OpenBao among them). Kubernetes' own controllers recheck the owner before an
        adoption for the same reason.
        """
        if self._owner_live is None:
            try:
                live = await self.clients.kube.get(CLUSTER, self.key.name, namespace=self.key.namespace)
            except NotFound:
                live = None
            meta = (live or {}).get("metadata") or {}
            self._owner_live = (
                live is not None and meta.get("uid") == self.owner_uid and not meta.get("deletionTimestamp")
            )
        return self._owner_live

    @property
    def config(self) -> ReconcilerConfig:
        return self.clients.config

    @property
    def namespace(self) -> str:
        return self.key.namespace

    @property
    def owner_uid(self) -> str:
        return str(self.raw["metadata"]["uid"])

    @property
    def raw_version(self) -> str:
        """spec.version as the user wrote it (``cluster.spec.version`` may be held by an upgrade)."""
        return str((self.raw.get("spec") or {}).get("version") or "")

    @property
    def generation(self) -> int:
        return int(self.raw["metadata"].get("generation") or 0)

    @property
    def live_status(self) -> Mapping[str, Any]:
        status: Mapping[str, Any] = self.raw.get("status") or {}
        return status

    def live_model(self, key: str, model: type[_M]) -> _M | None:
        """``status.<key>`` of the cluster as read, parsed into ``model``; None when absent or unreadable (a status
        edited into something else starts over from the spec)."""
        raw = self.live_status.get(key)
        if not isinstance(raw, dict):
            return None
        try:
            return model.model_validate(raw)
        except ValueError:
            return None

    @property
    def cluster(self) -> OpenBaoCluster:
        return _set(self.facts.cluster, "cluster")

    @property
    def render_facts(self) -> RenderFacts:
        return _set(self.facts.render, "render facts")

    @property
    def tls(self) -> TlsOutcome:
        return _set(self.facts.tls, "tls")

    @property
    def image(self) -> ImageDecision:
        return _set(self.facts.image, "image")

    @property
    def desired(self) -> DesiredState:
        return _set(self.facts.desired, "desired state")

    @property
    def ca_pem(self) -> str | None:
        return self.tls.ca_pem


class Step(Protocol):
    """One step of the reconcile (a module's ``step`` function)."""

    async def __call__(self, ctx: Context, /) -> Report: ...


def _set(value: _T | None, what: str) -> _T:
    if value is None:
        raise RuntimeError(f"the {what} is read before the step that sets it")
    return value
