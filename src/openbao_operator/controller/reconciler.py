"""One level-triggered reconcile of one OpenBaoCluster: observe, decide, apply what differs, report.

Why one function over the whole cluster (and no memory of earlier passes): every pass recomputes the
desired state from the spec and what it observes, so a pass after a crash, a missed event or a restart
decides exactly what an uninterrupted operator would have. The steps, in order:

0. tenancy: a cluster in a namespace that did not opt in gets TenantOnboarded=False saying how to opt in,
   and nothing else is read or written there (controller/tenancy.py);
1. read the cluster (cache); deletion → the finalizer's policy; otherwise make sure the finalizer is on;
2. validate: the spec parses, the Hardened profile holds, config.hcl renders (else ConfigurationValid
   False naming the field, and nothing is applied);
3. ``spec.paused`` → leave everything as it is (status says so);
4. security material before anything can mount it: TLS Secrets (CA before server), the static unseal
   key (created once with POST), the image verdict (a blocked image holds the StatefulSet back); then
   bootstrap, and during a key rotation whether OpenBao has rewrapped (only then is the old key
   unmounted; controller/rotation.py);
5. render with those facts; the StatefulSet's immutable fields are checked first (recreate with orphaned
   pods and PVCs, expand PVCs, or refuse with a condition);
6. apply only what differs (server-side apply as ``openbao-operator``; Gateway API kinds apart), then
   delete the owned objects the render no longer produces;
7. status through the status subresource (written only when it changed), Events on transitions, and a
   requeue-after for time-based work (certificate renewal, the resync period).

Every write goes through :class:`kube.Applier` or a create/patch/delete that is conditional on an
observed difference, so an unchanged cluster costs zero write requests.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from openbao_operator import pki, seal
from openbao_operator.api import ConditionType, InvalidClusterError, OpenBaoCluster
from openbao_operator.api.ignored import ignored_fields
from openbao_operator.imagesig import ImageDecision
from openbao_operator.kube import (
    AlreadyExists,
    Applier,
    Conflict,
    Forbidden,
    Invalid,
    KubeClient,
    Manifest,
    NotFound,
    ObjectKey,
    Preconditions,
    ResourceType,
    differences,
    resource_of,
    stamped,
)
from openbao_operator.render import names
from openbao_operator.render.config import ConfigRenderError
from openbao_operator.render.desired import DesiredState
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload import is_optional_kind
from openbao_operator.render.workload.statefulset import desired_replicas

from . import acme, tenancy
from . import rollout as rollout_step
from .bootstrap import BaoConnect, UnstoredInitResults, bootstrap, default_connect, revoke_root_token, root_token
from .concurrent import all_of, each
from .conditions import Cond, changed
from .deletion import add_finalizer, finalize, has_finalizer
from .image import Verifier, check_image
from .kinds import CLUSTER, CLUSTER_LABEL, POD, PRUNABLE, PVC, SECRET, STATEFULSET, STORAGECLASS
from .memo import Memo
from .ownership import foreign_message, ownership
from .profile import judge_profile
from .prune import leftovers
from .rotation import observe_rewrap
from .scaling import prepare_scale_down
from .sources import Reader
from .statefulset import StatefulSetPlan, compare_sizes, plan_statefulset, size_change
from .status import Problem, StatusInput, Workload, build_status, paused_status, unseal_key_condition
from .tls import TlsOutcome, plan_tls, secret_data
from .unseal import UnsealOutcome, ensure_unseal_key
from .waiting import Waits
from .workload import initialized, observe_workload

EventType = Literal["Normal", "Warning"]
INIT_UNKNOWN_RECHECK_SECONDS = 5.0
"""While a live StatefulSet is held because initialization is unknown, ask pod-0 again this often."""
FOREIGN_RECHECK_SECONDS = 10.0
"""An object of ours by name but not ours blocks the pass: look again this often. Secrets are never watched
(least privilege), so a user labelling one for adoption sends no event the operator could see."""
ROTATION_RECHECK_SECONDS = 5.0
"""While a static key rotation waits for its rewrap, look again this often (a pod event may come sooner)."""
T = ConditionType


class StepReport(Protocol):
    """The report of a step that talks to OpenBao (``BootstrapOutcome``, ``RolloutResult``)."""

    @property
    def event(self) -> tuple[str, str] | None: ...
    @property
    def problem(self) -> Problem | None: ...
    @property
    def retry_after(self) -> float | None: ...


class EventSink(Protocol):
    """``runtime.EventRecorder`` as the reconcile uses it."""

    async def record(self, regarding: Manifest, *, type: EventType, reason: str, action: str, note: str) -> None: ...


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
    tls_policy: pki.RotationPolicy = pki.DEFAULT_POLICY
    """Certificate lifetimes and renewal windows; end-to-end tests shorten them to see rotations in minutes."""


@dataclass(frozen=True)
class Outcome:
    """What the runtime should do next with the key."""

    requeue_after: float | None = None
    requeue: bool = False
    """Again with backoff (a blocked image, a transient registry failure)."""


@dataclass
class _Pass:
    """What one pass has found so far (the status is built from it at the end)."""

    problems: list[Problem] = field(default_factory=list)
    events: list[tuple[EventType, str, str, str]] = field(default_factory=list)
    requeue_at: list[float] = field(default_factory=list)
    backoff: bool = False
    hold_statefulset: bool = False
    rotation_waiting_for: str = ""
    """What a static key rotation waits for before the old key can be retired (controller/rotation.py)."""

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

    def take(self, step: StepReport, *, action: str) -> None:
        """What a step that talks to OpenBao (bootstrap, rollout) reports: a Normal Event, a problem, a requeue."""
        if step.event is not None:
            self.event("Normal", step.event[0], action, step.event[1])
        if step.problem is not None:
            self.problem(step.problem.reason, step.problem.message)
        if step.retry_after is not None:
            self.after(step.retry_after)


@dataclass(frozen=True)
class _Owner:
    """The cluster whose objects a pass writes: its uid (ownerReferences) and name (labels)."""

    uid: str
    name: str


def _wall_now() -> datetime:
    return datetime.now(UTC)


class Reconciler:
    """Reconciles OpenBaoClusters; one instance per process, shared by the workers (the only per-key state it
    holds paces the checks of a waiting cluster, controller/waiting.py; a restart just starts them over)."""

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
    ) -> None:
        self.kube = kube
        self.reader = reader
        self.applier = Applier(kube)
        self.events = events
        self.verifier = verifier
        self.config = config
        self.tenancy = tenancy_view
        self.clock = clock
        self.token_bytes = token_bytes
        self.new_key = new_key
        self.new_serial = new_serial
        self.bao_connect = bao_connect
        self.unstored = UnstoredInitResults()
        self.resolve = resolve
        self.waits = Waits()
        self.memo = Memo()

    # -- the pass ----------------------------------------------------------------------------------------

    async def reconcile(self, key: ObjectKey) -> Outcome:
        raw = await self.reader.get(CLUSTER, key)
        if raw is None:
            return Outcome()
        verdict = tenancy.decide(
            key.namespace,
            view=self.tenancy,
            operator_namespace=self.config.operator_namespace,
            deleting=bool((raw.get("metadata") or {}).get("deletionTimestamp")),
            resync=self.config.resync_seconds,
        )
        if verdict.decision is not tenancy.Decision.PROCEED:
            return await self._not_onboarded(raw, key, verdict)
        if (raw.get("metadata") or {}).get("deletionTimestamp"):
            if has_finalizer(raw):
                kept: list[str] = []
                deleted = await finalize(raw, kube=self.kube, reader=self.reader, kept=kept)
                if deleted:
                    await self._record(raw, "Normal", "Deleted", "Delete", "deletion policy: " + ", ".join(deleted))
                for note in kept:
                    await self._record(raw, "Warning", "ForeignObject", "Delete", note)
            return Outcome()
        now = self.clock()
        pass_ = _Pass()
        try:
            cluster = self.memo.parse(raw)
        except InvalidClusterError as exc:
            await self._finalizer(raw, key)
            invalid = Cond(T.CONFIGURATION_VALID.value, "False", "InvalidSpec", exc.summary())
            await self._invalid(raw, key, invalid, now=now)
            return Outcome(requeue_after=self.config.resync_seconds)
        return await self._reconcile(raw, cluster, key, now=now, pass_=pass_)

    async def _not_onboarded(self, raw: Manifest, key: ObjectKey, verdict: tenancy.Verdict) -> Outcome:
        """Step 0's report: the condition (status only) when the namespace has not opted in; else just wait."""
        if verdict.condition is not None:
            live_status: Mapping[str, Any] = raw.get("status") or {}
            status = tenancy.not_onboarded_status(
                live_status,
                condition=verdict.condition,
                generation=int(raw["metadata"].get("generation") or 0),
                now=self.clock(),
            )
            if status_differs(status, live_status):
                self.reader.wrote(CLUSTER, key, await tenancy.report(self.kube, raw, key, status))
        return Outcome(requeue_after=verdict.requeue_after)

    async def _finalizer(self, raw: Manifest, key: ObjectKey) -> None:
        """Add the finalizer if missing. It must be on before the StatefulSet exists (its PVCs are what the
        deletion policy may delete), so every path that can apply the StatefulSet awaits this first."""
        if not has_finalizer(raw):
            self.reader.wrote(CLUSTER, key, await add_finalizer(self.kube, raw))

    async def _reconcile(
        self, raw: Manifest, cluster: OpenBaoCluster, key: ObjectKey, *, now: datetime, pass_: _Pass
    ) -> Outcome:
        namespace, owner_uid = key.namespace, str(raw["metadata"]["uid"])
        live_status: Mapping[str, Any] = raw.get("status") or {}
        generation = int(raw["metadata"].get("generation") or 0)
        sts_key = ObjectKey(namespace, names.statefulset_name(cluster))

        async def own_statefulset() -> Manifest | None:
            live = await self.reader.get(STATEFULSET, sts_key)
            if not ownership(live, owner_uid=owner_uid, cluster_name=cluster.metadata.name).writable:
                return None  # not ours: never scaled, recreated or rolled; the apply step reports it
            return live

        live_sts = await own_statefulset()
        pods = self.reader.list(POD, namespace=namespace, labels=names.infra_labels(cluster))
        is_init = initialized(live_status, pods)
        base_facts = RenderFacts(
            namespace=namespace,
            cluster_domain=self.config.cluster_domain,
            operator_namespace=self.config.operator_namespace,
            api_server_cidr=self.config.api_server_cidr,
            initialized=is_init,
            owner_uid=owner_uid,
        )

        def workload() -> Workload:
            return observe_workload(
                live_sts,
                spec_replicas=cluster.spec.replicas,
                target_replicas=desired_replicas(cluster, base_facts),
                is_initialized=is_init,
            )

        if cluster.spec.paused:
            await self._finalizer(raw, key)
            status = paused_status(generation=generation, now=now, live_status=live_status, workload=workload())
            await self._write_status(raw, key, status)
            return Outcome(requeue_after=self.config.resync_seconds)

        profile = judge_profile(cluster)
        ignored = ignored_fields(cluster.spec)
        fields_ignored = (
            Cond(T.FIELDS_IGNORED.value, "True", "FieldsIgnored", "; ".join(str(f) for f in ignored))
            if ignored
            else Cond(T.FIELDS_IGNORED.value, "False", "NoneIgnored", "every field set in the spec takes effect")
        )
        # (2) validate before writing anything: Hardened requirements, then a trial render
        configuration = Cond(T.CONFIGURATION_VALID.value, "True", "Valid", "the spec renders to a valid configuration")
        if profile.violations:
            configuration = Cond(
                T.CONFIGURATION_VALID.value, "False", "HardenedProfileViolated", "; ".join(profile.violations)
            )
        else:
            try:
                self.memo.render(owner_uid, cluster, facts=base_facts)
            except ConfigRenderError as exc:
                configuration = Cond(T.CONFIGURATION_VALID.value, "False", "InvalidConfiguration", str(exc))
        if configuration.status == "False":
            await self._finalizer(raw, key)
            status = build_status(
                StatusInput(
                    generation=generation,
                    now=now,
                    live_status=live_status,
                    workload=workload(),
                    configuration=configuration,
                    fields_ignored=fields_ignored,
                    paused=False,
                    tls=None,
                    production_ready=profile.production_ready,
                    security_risk=profile.security_risk,
                    image=None,
                    problem=Problem(configuration.reason, configuration.message),
                    verified_image=None,
                    keep_verified_image=True,
                )
            )
            await self._write_status(raw, key, status, transitions=[configuration])
            return Outcome(requeue_after=self.config.resync_seconds)

        # (4) security material
        # NB: the finalizer and the three security steps are independent (the CR's metadata, different
        # Secrets, a registry): run them concurrently; all are done (or cancelled, when one fails) before
        # anything below is applied, so no write of a failed pass outlives it (controller/concurrent.py).
        _, tls, unseal, decision = await all_of(
            self._finalizer(raw, key),
            self._tls(cluster, namespace=namespace, owner_uid=owner_uid, now=now, initialized=is_init, pass_=pass_),
            self._unseal(cluster, namespace=namespace, owner_uid=owner_uid, pass_=pass_),
            check_image(cluster, verifier=self.verifier, reader=self.reader, namespace=namespace),
        )
        self._image(decision, pass_)

        # (4b) bootstrap: initialize pod-0 once (controller/bootstrap.py); the StatefulSet grows after it
        boot = await bootstrap(
            cluster,
            pods,
            is_initialized=is_init,
            namespace=namespace,
            owner_uid=owner_uid,
            ca_pem=tls.ca_pem,
            kube=self.kube,
            reader=self.reader,
            connect=self.bao_connect,
            unstored=self.unstored,
            live_replicas=_replicas_of(live_sts),
            recorded=_init_recorded(live_status),
        )
        is_init = boot.initialized
        pass_.take(boot, action="Initialize")
        waited = self.waits.check(key, waiting=boot.waiting, statefulset=live_sts, pods=pods, live_status=live_status)
        pass_.take(waited, action="Initialize")
        if boot.lost and boot.problem is not None:
            pass_.event("Warning", "RootTokenLost", "Initialize", boot.problem.message)
        if is_init and cluster.spec.root_token_policy == "Revoke" and not _self_init(cluster):  # noqa: S105
            revoked = await revoke_root_token(
                cluster,
                pods,
                namespace=namespace,
                ca_pem=tls.ca_pem,
                kube=self.kube,
                reader=self.reader,
                connect=self.bao_connect,
            )
            pass_.take(revoked, action="RevokeRootToken")
        held = hold_replicas(live_sts, initialized=is_init, said_uninitialized=boot.said_uninitialized)
        if held is not None:
            pass_.problem(
                "InitializationUnknown",
                f"neither status.initialized nor a pod's openbao-initialized label says whether OpenBao is "
                f"initialized, and pod-0 has not answered sys/init yet: the StatefulSet keeps its {held} replicas "
                "(a live cluster is never shrunk on a missing fact) until OpenBao answers",
            )
            pass_.after(INIT_UNKNOWN_RECHECK_SECONDS)

        def facts_for(keys: UnsealOutcome | None) -> RenderFacts:
            return dataclasses.replace(
                base_facts,
                initialized=is_init,
                replicas=held,
                verified_image=decision.image if decision.apply and decision.image != _plain_image(cluster) else None,
                tls_cert_sha256=tls.cert_fingerprint,
                tls_ca_pem=tls.ca_pem,
                unseal_key=keys.current if keys is not None else None,
                unseal_previous_key=keys.previous if keys is not None else None,
            )

        # (4c) a static key rotation retires the old key only once OpenBao has rewrapped with the new one
        if unseal is not None and unseal.previous is not None and unseal.ok and is_init:
            unseal = await self._rewrap(
                cluster,
                unseal,
                desired_sts=_statefulset_of(self.memo.render(owner_uid, cluster, facts=facts_for(unseal))),
                live_sts=live_sts,
                namespace=namespace,
                owner_uid=owner_uid,
                ca_pem=tls.ca_pem,
                pass_=pass_,
            )

        # (5) render with the facts
        facts = facts_for(unseal)
        desired = self.memo.render(owner_uid, cluster, facts=facts)
        if is_init:  # (5b) a scale-down first steps a leaving leader down and removes leaving raft peers
            desired = await self._scale_down(cluster, desired, live_sts, pods, namespace, tls.ca_pem, pass_)

        # (6) apply and prune
        await self._apply_all(raw, cluster, desired, live_sts=live_sts, pass_=pass_)
        await self._prune(raw, desired, namespace=namespace, owner_uid=owner_uid, cluster_name=cluster.metadata.name)

        # (6b) the rollout step: at most one out-of-date pod replaced (controller/rollout.py)
        live_sts = await own_statefulset()
        waiting_for = await self._rollout(
            cluster, live_sts, namespace=namespace, ca_pem=tls.ca_pem, now=now, pass_=pass_
        )

        # (7) status, events, requeue
        rotating = (
            unseal_key_condition(reason=unseal.reason, message=unseal.message, waiting_for=pass_.rotation_waiting_for)
            if unseal is not None
            else None
        )
        live_sts = await own_statefulset()
        status = build_status(
            StatusInput(
                generation=generation,
                now=now,
                live_status=live_status,
                workload=dataclasses.replace(
                    observe_workload(
                        live_sts,
                        spec_replicas=cluster.spec.replicas,
                        target_replicas=desired_replicas(cluster, facts),
                        is_initialized=is_init,
                    ),
                    waiting_for=waiting_for,
                ),
                configuration=configuration,
                fields_ignored=fields_ignored,
                paused=False,
                tls=tls.condition,
                production_ready=profile.production_ready,
                security_risk=profile.security_risk,
                image=_image_condition(decision),
                problem=pass_.problems[0] if pass_.problems else None,
                verified_image=decision.verified_image,
                keep_verified_image=not decision.apply,
                unseal_key=rotating,
            )
        )
        conds = [c for c in (profile.security_risk, tls.condition, rotating) if c is not None]
        await each(
            [self._write_status(raw, key, status, transitions=conds), *(self._record(raw, *e) for e in pass_.events)]
        )
        if tls.recheck_at is not None:
            pass_.after((tls.recheck_at - now).total_seconds())
        pass_.after(self.config.resync_seconds)
        if pass_.backoff:
            return Outcome(requeue=True)
        return Outcome(requeue_after=min(pass_.requeue_at))

    # -- steps -------------------------------------------------------------------------------------------

    async def _scale_down(
        self,
        cluster: OpenBaoCluster,
        desired: DesiredState,
        live_sts: Manifest | None,
        pods: list[Manifest],
        namespace: str,
        ca_pem: str | None,
        pass_: _Pass,
    ) -> DesiredState:
        current = int(((live_sts or {}).get("spec") or {}).get("replicas") or 0)
        if live_sts is None or current <= cluster.spec.replicas:
            return desired
        result = await prepare_scale_down(
            cluster,
            live_sts,
            pods,
            desired=cluster.spec.replicas,
            namespace=namespace,
            ca_pem=ca_pem,
            token=await root_token(cluster, reader=self.reader, namespace=namespace),
            connect=self.bao_connect,
        )
        if result.event is not None:
            pass_.event("Normal", result.event[0], "ScaleDown", result.event[1])
        if result.retry_after is not None:
            pass_.after(result.retry_after)
        if result.hold_at is None:
            return desired
        held = tuple(
            {**o, "spec": {**o["spec"], "replicas": result.hold_at}} if o["kind"] == "StatefulSet" else o
            for o in desired.objects
        )
        return dataclasses.replace(desired, objects=held)

    async def _rollout(
        self,
        cluster: OpenBaoCluster,
        live_sts: Manifest | None,
        *,
        namespace: str,
        ca_pem: str | None,
        now: datetime,
        pass_: _Pass,
    ) -> str | None:
        if pass_.hold_statefulset or live_sts is None:
            return None
        pods = self.reader.list(POD, namespace=namespace, labels=names.infra_labels(cluster))
        plan = rollout_step.plan_rollout(live_sts, pods, now=now, ready_timeout=self.config.rollout_ready_timeout)
        if plan.action == "none":
            return None
        token = None
        if plan.action == "replace" and plan.role != "not-ready":
            token = await root_token(cluster, reader=self.reader, namespace=namespace)
        result = await rollout_step.execute(
            plan,
            cluster,
            namespace=namespace,
            ca_pem=ca_pem,
            token=token,
            kube=self.kube,
            reader=self.reader,
            connect=self.bao_connect,
        )
        pass_.take(result, action="Rollout")
        return result.waiting_for

    async def _tls(
        self,
        cluster: OpenBaoCluster,
        *,
        namespace: str,
        owner_uid: str,
        now: datetime,
        initialized: bool,
        pass_: _Pass,
    ) -> TlsOutcome:
        name = cluster.metadata.name
        ca_key = ObjectKey(namespace, pki.ca_secret_name(name))
        server_key = ObjectKey(namespace, pki.server_secret_name(name))
        wanted = cluster.spec.tls.serves and cluster.spec.tls.mode in ("OperatorManaged", "External")
        external = cluster.spec.tls.mode == "External"
        # NB: lookup, not a cache read: in namespace mode the Secret cache selects our label, and a CA Secret
        # without it (restored, relabelled) must be found, not replaced by a new CA (controller/ownership.py).
        live_ca = await self.reader.lookup(SECRET, ca_key) if wanted and not external else None
        if external:
            live_server = await self.reader.get(SECRET, server_key, direct=True) if wanted else None
        else:
            live_server = await self.reader.lookup(SECRET, server_key) if wanted else None
        owner = _Owner(uid=owner_uid, name=name)
        foreign = [
            live
            for live in (live_ca, live_server if not external else None)
            if not ownership(live, owner_uid=owner_uid, cluster_name=name).writable
        ]
        if foreign:
            # never write over, never plan from, material this cluster does not own
            for live in foreign:
                assert live is not None
                pass_.foreign(foreign_message(live, cluster_name=name), hold=True)
            message = "; ".join(foreign_message(live, cluster_name=name) for live in foreign if live is not None)
            return TlsOutcome(Cond(T.TLS_READY.value, "False", "ForeignObject", message), hold_workload=True)
        outcome = plan_tls(
            cluster,
            namespace=namespace,
            cluster_domain=self.config.cluster_domain,
            now=now,
            owner_uid=owner_uid,
            ca_secret=secret_data(live_ca),
            server_secret=secret_data(live_server),
            new_key=self.new_key,
            new_serial=self.new_serial,
            policy=self.config.tls_policy,
        )
        for secret, live in zip(outcome.secrets, (live_ca, live_server), strict=False):
            if not await self._ensure_secret(secret, live, owner=owner, pass_=pass_):
                break  # the CA Secret first: no server certificate from a CA that is not stored
        if outcome.actions and live_server is not None:
            # NB: the first issuance of a new cluster is no news; a reissue or CA rollover is.
            pass_.event("Normal", "CertificateIssued", "IssueCertificate", "; ".join(outcome.actions))
        for warning in outcome.warnings:
            pass_.event("Warning", "CertificateWarning", "IssueCertificate", warning)
        if outcome.hold_workload:
            pass_.hold_statefulset = True
            pass_.problem("TLSNotReady", outcome.condition.message)
        verdict = await acme.acme_preflight(
            cluster,
            namespace=namespace,
            initialized=initialized,
            read_gateway=acme.gateway_reader(self.kube),
            resolve=self.resolve,
            gateway_missing_retry=self.config.gateway_missing_seconds,
        )
        if verdict is None:
            return outcome
        # NB: the Warning Event comes with the TLSReady transition (_write_status), once, not every pass
        pass_.problem(verdict.reason, verdict.message)
        pass_.after(verdict.retry_after)
        pass_.hold_statefulset = pass_.hold_statefulset or verdict.hold_workload
        failed = Cond(T.TLS_READY.value, "False", verdict.reason, verdict.message)
        return dataclasses.replace(outcome, condition=failed)

    async def _ensure_secret(self, secret: Manifest, live: Manifest | None, *, owner: _Owner, pass_: _Pass) -> bool:
        """Write one TLS Secret: created with POST when absent (never over a Secret that appeared meanwhile),
        applied only over our own. False when it is not in place as planned (the next pass plans again)."""
        key = ObjectKey.of(secret)
        if live is not None:
            result = await self.applier.ensure(secret, live)
            if result.written:
                self.reader.wrote(SECRET, key, result.object)
            return True
        try:
            created = await self.kube.create(stamped(secret))
        except AlreadyExists:
            pass_.after(self.config.wait_seconds)  # appeared since the read: look at it in the next pass
            return False
        self.reader.wrote(SECRET, key, created)
        return True

    async def _unseal(
        self, cluster: OpenBaoCluster, *, namespace: str, owner_uid: str, pass_: _Pass, rewrap_complete: bool = False
    ) -> UnsealOutcome | None:
        if cluster.spec.unseal is not None and cluster.spec.unseal.type != "static":
            return None
        outcome = await ensure_unseal_key(
            cluster,
            kube=self.kube,
            reader=self.reader,
            namespace=namespace,
            owner_uid=owner_uid,
            rewrap_complete=rewrap_complete,
            token_bytes=self.token_bytes,
        )
        if outcome.rewrapped:
            pass_.event(
                "Normal",
                "UnsealKeyRotated",
                "RotateUnsealKey",
                f"OpenBao has rewrapped its keys with {outcome.rewrapped}: the previous key is no longer mounted "
                "(pods restart through the rollout) and its Secret is kept; delete it yourself once no backup "
                "taken before the rotation needs it",
            )
        if outcome.created and outcome.predecessor:
            pass_.event(
                "Normal",
                "UnsealKeyRotationStarted",
                "RotateUnsealKey",
                f"created the static unseal key Secret {outcome.created} (back it up: losing it loses the data); "
                f"{outcome.predecessor} stays mounted as the previous key until OpenBao has rewrapped with the new "
                "key; pods restart through the rollout",
            )
        elif outcome.created:
            pass_.event(
                "Normal",
                "UnsealKeyCreated",
                "CreateUnsealKey",
                f"created the static unseal key Secret {outcome.created}; back it up: losing it loses the data",
            )
        if not outcome.ok:
            pass_.hold_statefulset = True
            pass_.problem(outcome.reason, outcome.message)
            pass_.event("Warning", outcome.reason, "CheckUnsealKey", outcome.message)
        return outcome

    async def _rewrap(
        self,
        cluster: OpenBaoCluster,
        unseal: UnsealOutcome,
        *,
        desired_sts: Manifest | None,
        live_sts: Manifest | None,
        namespace: str,
        owner_uid: str,
        ca_pem: str | None,
        pass_: _Pass,
    ) -> UnsealOutcome:
        """During a rotation: is the data rewrapped (controller/rotation.py)? Then the seal plan marks it on
        the key Secret and the render goes on without the previous key; else both keys stay, and the next
        pass looks again (pod events, or the recheck after a few seconds)."""
        verdict = await observe_rewrap(
            cluster,
            desired_sts=desired_sts,
            live_sts=live_sts,
            pods=self.reader.list(POD, namespace=namespace, labels=names.infra_labels(cluster)),
            namespace=namespace,
            ca_pem=ca_pem,
            connect=self.bao_connect,
        )
        if not verdict.complete:
            pass_.rotation_waiting_for = verdict.waiting_for
            pass_.after(ROTATION_RECHECK_SECONDS)
            return unseal
        done = await self._unseal(cluster, namespace=namespace, owner_uid=owner_uid, pass_=pass_, rewrap_complete=True)
        return done if done is not None else unseal

    def _image(self, decision: ImageDecision, pass_: _Pass) -> None:
        if decision.event is not None:
            pass_.event(decision.event.type, decision.event.reason, "VerifyImage", decision.event.message)
        if not decision.apply:
            pass_.hold_statefulset = True
        if decision.last_error_reason is not None and decision.condition is not None:
            pass_.problem(decision.last_error_reason, decision.condition.message)
        if decision.retry:
            pass_.backoff = True

    async def _apply_all(
        self,
        raw: Manifest,
        cluster: OpenBaoCluster,
        desired: DesiredState,
        *,
        live_sts: Manifest | None,
        pass_: _Pass,
    ) -> None:
        # Safe order in stages; objects within a stage do not depend on each other and are applied
        # concurrently: (1) identity, config, Services, policies: everything a pod needs to start; (2) the
        # StatefulSet, and the pods' RoleBinding to the pre-installed ClusterRole openbao-server, which they
        # need only once running (service registration, auto_join); (3) the optional Gateway API kinds,
        # whose absence must not hold anything else back.
        optional = [o for o in desired.objects if is_optional_kind(o)]
        workload = [o for o in desired.objects if o["kind"] == "StatefulSet" and o["apiVersion"] == "apps/v1"]
        bindings = [o for o in desired.objects if o["kind"] == "RoleBinding"]
        first = [o for o in desired.objects if o not in optional and o not in workload and o not in bindings]
        owner = _Owner(uid=str(raw["metadata"]["uid"]), name=cluster.metadata.name)
        await each([self._ensure(obj, pass_, owner=owner) for obj in first])

        async def statefulsets() -> None:
            for obj in workload:
                if pass_.hold_statefulset:
                    continue
                sts = await self._statefulset(raw, cluster, obj, live_sts, pass_=pass_)
                if sts is not None:
                    await self._ensure(sts, pass_, owner=owner)

        await each([statefulsets(), *(self._ensure(obj, pass_, owner=owner) for obj in bindings)])
        await each([self._ensure(obj, pass_, owner=owner, optional=True) for obj in optional])

    async def _ensure(self, obj: Manifest, pass_: _Pass, *, owner: _Owner, optional: bool = False) -> None:
        rt, key = resource_of(obj), ObjectKey.of(obj)
        where = f"{obj['kind']} {key.name}"
        try:
            live = await self.reader.lookup(rt, key)
            if not ownership(live, owner_uid=owner.uid, cluster_name=owner.name).writable:
                assert live is not None
                pass_.foreign(foreign_message(live, cluster_name=owner.name), hold=rt is STATEFULSET)
                return
            result = await self.applier.ensure(obj, live)
        except NotFound as exc:
            if not optional:
                raise
            pass_.problem(
                "GatewayAPIMissing",
                f"{where}: the Gateway API is not served ({exc.message}); install its CRDs or disable spec.gateway",
            )
            pass_.after(self.config.gateway_missing_seconds)
            return
        except (Invalid, Forbidden) as exc:
            # NB: re-sending a refused object on every pass would be a loop; report it and wait for a change
            reason = "ApplyRejected" if isinstance(exc, Invalid) else "Forbidden"
            pass_.problem(reason, f"{where} was refused by the API server: {exc}")
            return
        if result.written:
            self.reader.wrote(rt, key, result.object)

    async def _statefulset(
        self, raw: Manifest, cluster: OpenBaoCluster, desired: Manifest, live: Manifest | None, *, pass_: _Pass
    ) -> Manifest | None:
        """The StatefulSet to apply, or None when it must not be applied in this pass."""
        if live is not None and (live.get("metadata") or {}).get("deletionTimestamp"):
            pass_.after(self.config.wait_seconds)  # orphaning in progress: create it once it is gone
            return None
        allowed: bool | None = None
        if live is not None and size_change(desired, live) is not None:
            allowed = await self._expansion_allowed(live, namespace=str(live["metadata"]["namespace"]))
        plan = plan_statefulset(desired, live, expansion_allowed=allowed)
        if plan.refusal is not None:
            pass_.problem(plan.refusal.reason, plan.refusal.message)
        if live is None or not plan.recreate:
            return plan.desired
        await self._recreate(raw, cluster, plan, live, pass_=pass_)
        return None

    async def _expansion_allowed(self, live: Manifest, *, namespace: str) -> bool:
        templates = (live.get("spec") or {}).get("volumeClaimTemplates") or ()
        class_name = next((t.get("spec", {}).get("storageClassName") for t in templates if t.get("spec")), None)
        if not class_name:
            claims = await self.kube.list(PVC, namespace=namespace, labels={CLUSTER_LABEL: live["metadata"]["name"]})
            class_name = next((c["spec"].get("storageClassName") for c in claims.items if c.get("spec")), None)
        if not class_name:
            return False
        try:
            storage_class = await self.kube.get(STORAGECLASS, str(class_name))
        except NotFound:
            return False
        return storage_class.get("allowVolumeExpansion") is True

    async def _recreate(
        self, raw: Manifest, cluster: OpenBaoCluster, plan: StatefulSetPlan, live: Manifest, *, pass_: _Pass
    ) -> None:
        namespace, name = str(live["metadata"]["namespace"]), str(live["metadata"]["name"])
        if plan.expand_to is not None:
            resized, unbound = await self._expand_claims(name, namespace=namespace, size=plan.expand_to)
            note = f"expanded {', '.join(resized) or 'no'} volume(s) to {plan.expand_to}"
            if unbound:
                note += f"; unbound claims keep their size: {', '.join(unbound)}"
            pass_.event("Normal", "PVCResize", "ExpandVolumes", note)
        # NotFound / Conflict: already gone, or already another incarnation; the next pass decides again
        with contextlib.suppress(NotFound, Conflict):
            await self.kube.delete(
                STATEFULSET,
                name,
                namespace=namespace,
                propagation="Orphan",
                preconditions=Preconditions(uid=str(live["metadata"]["uid"])),
            )
        self.reader.wrote(STATEFULSET, ObjectKey(namespace, name), None)
        pass_.event(
            "Normal",
            "StatefulSetRecreated",
            "RecreateStatefulSet",
            f"{', '.join(plan.recreate)} cannot change in place: the StatefulSet is recreated; its pods and "
            "volumes are kept (orphaned, then adopted)",
        )
        pass_.after(self.config.wait_seconds)

    async def _expand_claims(self, sts_name: str, *, namespace: str, size: str) -> tuple[list[str], list[str]]:
        claims = await self.kube.list(PVC, namespace=namespace, labels={CLUSTER_LABEL: sts_name})
        resized, unbound = [], []
        for claim in claims.items:
            claim_name = str(claim["metadata"]["name"])
            if not claim_name.startswith(f"data-{sts_name}-"):
                continue
            current = ((claim.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage")
            if current is not None and (compare_sizes(str(current), size) or 0) >= 0:
                continue
            if (claim.get("status") or {}).get("phase") != "Bound":
                unbound.append(claim_name)
                continue
            patch = {"spec": {"resources": {"requests": {"storage": size}}}}
            try:
                await self.kube.merge_patch(PVC, claim_name, patch, namespace=namespace)
            except (Invalid, Forbidden):
                unbound.append(claim_name)  # refused (e.g. no expansion support): keeps its size
                continue
            resized.append(claim_name)
        return resized, unbound

    async def _prune(
        self, raw: Manifest, desired: DesiredState, *, namespace: str, owner_uid: str, cluster_name: str
    ) -> None:
        live_by_kind: dict[ResourceType, list[Manifest]] = {}
        for rt in PRUNABLE:
            if self.reader.cached(rt):
                live_by_kind[rt] = self.reader.list(rt, namespace=namespace, labels={CLUSTER_LABEL: cluster_name})
        for rt, obj in leftovers(desired.objects, live_by_kind, owner_uid=owner_uid):
            key = ObjectKey.of(obj)
            with contextlib.suppress(NotFound, Conflict):
                await self.kube.delete(
                    rt, key.name, namespace=namespace, preconditions=Preconditions(uid=obj["metadata"]["uid"])
                )
            self.reader.wrote(rt, key, None)
            await self._record(raw, "Normal", "Pruned", "Delete", f"deleted {obj['kind']} {key.name}: no longer wanted")

    # -- status and events -------------------------------------------------------------------------------

    async def _invalid(self, raw: Manifest, key: ObjectKey, invalid: Cond, *, now: datetime) -> None:
        live_status: Mapping[str, Any] = raw.get("status") or {}
        spec = raw.get("spec") or {}
        replicas = int(spec.get("replicas") or 3) if isinstance(spec.get("replicas", 3), int) else 3
        live_sts = await self.reader.get(STATEFULSET, ObjectKey(key.namespace, key.name))
        was_initialized = bool(live_status.get("initialized"))
        work = observe_workload(
            live_sts, spec_replicas=replicas, target_replicas=replicas, is_initialized=was_initialized
        )
        status = build_status(
            StatusInput(
                generation=int(raw["metadata"].get("generation") or 0),
                now=now,
                live_status=live_status,
                workload=work,
                configuration=invalid,
                fields_ignored=Cond(T.FIELDS_IGNORED.value, "Unknown", "InvalidSpec", "the spec does not validate"),
                paused=bool(spec.get("paused")),
                tls=None,
                production_ready=None,
                security_risk=None,
                image=None,
                problem=Problem(invalid.reason, invalid.message),
                verified_image=None,
                keep_verified_image=True,
            )
        )
        await self._write_status(raw, key, status, transitions=[invalid])

    async def _write_status(
        self, raw: Manifest, key: ObjectKey, status: dict[str, Any], *, transitions: list[Cond] | None = None
    ) -> None:
        live_status: Mapping[str, Any] = raw.get("status") or {}
        if not status_differs(status, live_status):
            return
        body = {
            "apiVersion": raw["apiVersion"],
            "kind": raw["kind"],
            "metadata": {"name": key.name, "namespace": key.namespace},
            "status": status,
        }
        result = await self.kube.apply_status(body, force=True)
        self.reader.wrote(CLUSTER, key, result)
        for cond in changed(transitions or (), live_status.get("conditions")):
            if cond.status == "False" and cond.type == T.CONFIGURATION_VALID.value:
                await self._record(raw, "Warning", cond.reason, "Validate", cond.message)
            elif cond.type == T.SECURITY_RISK.value and cond.status == "True":
                await self._record(raw, "Warning", cond.reason, "Reconcile", cond.message)
            elif cond.type == T.TLS_READY.value and cond.status == "False":
                await self._record(raw, "Warning", cond.reason, "CheckTLS", cond.message)
            elif cond.type == T.UNSEAL_KEY_ROTATING.value and cond.reason == seal.UnsealKeyReason.ROTATION_DEFERRED:
                # start and finish have their own Events (UnsealKeyRotationStarted, UnsealKeyRotated)
                await self._record(raw, "Normal", cond.reason, "RotateUnsealKey", cond.message)

    async def _record(self, raw: Manifest, type_: EventType, reason: str, action: str, note: str) -> None:
        await self.events.record(raw, type=type_, reason=reason, action=action, note=note)


STATUS_OPTIONAL_KEYS = ("rollout", "workload", "verifiedImageDigest")


def status_differs(desired: Mapping[str, Any], live: Mapping[str, Any]) -> bool:
    """Would writing ``desired`` change live status? Also sees conditions and fields we stopped sending."""
    if differences(dict(desired), dict(live)):
        return True
    if any(k in live and k not in desired for k in STATUS_OPTIONAL_KEYS):
        return True
    want = [c.get("type") for c in desired.get("conditions") or ()]
    have = [c.get("type") for c in live.get("conditions") or ()]
    if sorted(map(str, want)) != sorted(map(str, have)):
        return True
    rollout_want, rollout_have = desired.get("rollout") or {}, live.get("rollout") or {}
    return "waitingFor" in rollout_have and "waitingFor" not in rollout_want


def _image_condition(decision: ImageDecision) -> Cond | None:
    c = decision.condition
    return Cond(T.IMAGE_VERIFIED.value, c.status, c.reason, c.message) if c is not None else None


def hold_replicas(live_sts: Manifest | None, *, initialized: bool, said_uninitialized: bool) -> int | None:
    """The live replica count to keep, or None to render as usual.

    Before initialization the render wants the single bootstrap pod. A live StatefulSet with more replicas
    while nothing says "initialized" is a cluster whose status was lost (re-created or restored without
    status, no pod labelled yet): shrinking it would lose quorum. Only OpenBao saying it is uninitialized
    (pod-0's sys/init) lets the render shrink it; until then its count is kept."""
    live = _replicas_of(live_sts)
    if initialized or said_uninitialized or live <= 1:
        return None
    return live


def _replicas_of(sts: Manifest | None) -> int:
    replicas = ((sts or {}).get("spec") or {}).get("replicas")
    return replicas if isinstance(replicas, int) else 0


def _statefulset_of(desired: DesiredState) -> Manifest | None:
    return next((o for o in desired.objects if o["kind"] == "StatefulSet" and o["apiVersion"] == "apps/v1"), None)


def _init_recorded(live_status: Mapping[str, Any]) -> bool:
    """Status says initialized, and no earlier pass was still holding the root token in memory. A pass that
    held it wrote ``Degraded/RootTokenNotStored``: if this process does not hold it now, the one that did is
    gone, and the bootstrap step must look at the Secret once (controller/roottoken.py, ``lost``)."""
    reasons = [c.get("reason") for c in live_status.get("conditions") or () if c.get("type") == T.DEGRADED.value]
    return live_status.get("initialized") is True and "RootTokenNotStored" not in reasons


def _self_init(cluster: OpenBaoCluster) -> bool:
    return cluster.spec.self_init is not None and cluster.spec.self_init.enabled


def _plain_image(cluster: OpenBaoCluster) -> str:
    return cluster.spec.image or names.default_image(cluster)
