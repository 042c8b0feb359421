"""Bootstrap exactly once: one pod, initialized once, then the StatefulSet grows.

Why this shape: a fresh node can self-initialize a second cluster while its join is still in flight
(a known OpenBao race). So the StatefulSet has one replica until OpenBao reports
initialized (``render.workload.statefulset.desired_replicas``); only pod-0 exists, nothing can race it.

- ``spec.selfInit.enabled``: the ``initialize`` blocks in config.hcl do the work; the operator only observes
  (the pod's ``openbao-initialized`` label).
- otherwise the operator asks pod-0 (``GET sys/init``) and, when it is not initialized, initializes it
  through ``PUT sys/init`` with one recovery share (an auto-unseal cluster has no unseal keys). As the
  reference operator does, the root token is kept in the Secret ``<name>-root-token`` (key ``token``), here
  together with the recovery key (``recovery-key-0``): the operator needs a token to step a leader down
  before it is replaced and to remove raft peers on scale-down, and the recovery key is the only way to
  generate a new root token later. Events and status say only that the Secret exists (``RootTokenStored``),
  never its content; nothing is logged. The Secret is created with POST (never overwritten) and is owned by
  the cluster (non-controller ownerReference, so garbage-collected with it) only under ``DeleteAll``.
  A cluster that wants no stored root token uses selfInit.
- The answer of ``PUT sys/init`` exists only in this process until the Secret is written, so a failed write
  is retried at once (``STORE_ATTEMPTS``) and then held in memory (``UnstoredInitResults``): every later
  pass writes it before anything else and reports ``RootTokenNotStored`` until it succeeds. Only the
  death of the operator inside that window loses it (then ``generate-root`` needs the recovery key, which
  was in the same answer: docs/controller.md says how to avoid the window entirely with selfInit).
- An existing ``<name>-root-token`` while OpenBao is uninitialized (a leftover of an earlier cluster of the
  same name) stops the bootstrap with a reason instead of overwriting it.

Once initialized, the cluster is initialized for good (``status.initialized`` is sticky): the next pass
renders spec.replicas and the other pods join through the rendered retry_join / auto_join and unseal
themselves with the static key.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from openbao_operator.api import ConditionType, OpenBaoCluster
from openbao_operator.baoapi import BaoApiError, BaoClient, BaoUnavailable, Sensitive, Target
from openbao_operator.kube import AlreadyExists, Conflict, KubeClient, KubeError, Manifest, ObjectKey
from openbao_operator.render.workload.statefulset import desired_replicas

from . import podview, roottoken
from .kinds import SECRET
from .sources import Reader
from .status import Problem
from .step import Context, Report
from .stsview import StatefulSetView

BaoConnect = Callable[[Target], BaoClient]
"""How the controller gets a client for one pod (tests inject transports through it)."""

RECOVERY_SHARES = 1
RECOVERY_THRESHOLD = 1
STORE_ATTEMPTS = 4
"""Writes of the root-token Secret tried at once after sys/init (delays 0.5, 1, 2 s between them)."""


@dataclass(repr=False)
class UnstoredInitResults:
    """Root-token Secrets that could not be written yet, by (namespace, cluster name): kept in memory only.

    repr shows the keys, never the manifests (they hold the token and the recovery key)."""

    _held: dict[tuple[str, str], Manifest] = field(default_factory=dict)

    def hold(self, namespace: str, name: str, manifest: Manifest) -> None:
        self._held[(namespace, name)] = manifest

    def held(self, namespace: str, name: str) -> Manifest | None:
        return self._held.get((namespace, name))

    def release(self, namespace: str, name: str) -> None:
        self._held.pop((namespace, name), None)

    def __repr__(self) -> str:
        return f"UnstoredInitResults({sorted(self._held)!r})"


def root_token_secret_name(cluster: OpenBaoCluster) -> str:
    return roottoken.secret_name(cluster)


def default_connect(target: Target) -> BaoClient:
    return BaoClient(target)


@dataclass(frozen=True)
class BootstrapOutcome:
    initialized: bool
    """OpenBao is initialized (observed, or done in this pass)."""
    said_uninitialized: bool = False
    """pod-0's ``sys/init`` answered ``initialized: false`` in this pass: the one fact that may shrink a live
    StatefulSet back to its bootstrap pod (a missing status or label never does)."""
    event: tuple[str, str] | None = None
    """(reason, note) of a Normal Event to record."""
    problem: Problem | None = None
    retry_after: float | None = None
    lost: bool = False
    """OpenBao was found initialized while the root-token Secret was still a placeholder (a Warning)."""
    waiting: str | None = None
    """pod-0 runs but did not answer: what the pass waits for (controller/waiting.py decides the next check)."""
    target: Target | None = None
    """With ``waiting``: how pod-0 was reached (a later check may ask it alone)."""


async def root_token(cluster: OpenBaoCluster, *, reader: Reader, namespace: str) -> Sensitive | None:
    """The stored root token (None: selfInit, or none stored)."""
    secret = await reader.get(SECRET, ObjectKey(namespace, root_token_secret_name(cluster)), direct=True)
    raw = ((secret or {}).get("data") or {}).get(roottoken.TOKEN_KEY)
    if not raw:
        return None
    return Sensitive(base64.b64decode(raw).decode())


async def bootstrap(
    cluster: OpenBaoCluster,
    pods: Sequence[Manifest],
    *,
    is_initialized: bool,
    namespace: str,
    owner_uid: str | None,
    ca_pem: str | None,
    kube: KubeClient,
    reader: Reader,
    connect: BaoConnect,
    unstored: UnstoredInitResults | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    live_replicas: int = 0,
    recorded: bool = True,
) -> BootstrapOutcome:
    """Initialize pod-0 once. ``live_replicas``: the live StatefulSet's replica count; above 1 while
    initialization is not known, pod-0 is asked even under selfInit, so the answer decides the replicas.
    ``recorded``: status already says initialized, and no earlier pass was left holding the answer (False: this
    pass is the first to see OpenBao initialized, or the process that held the answer is gone; the root-token
    Secret is then checked once for an answer lost to a crash)."""
    held = unstored.held(namespace, cluster.metadata.name) if unstored is not None else None
    if held is not None:
        stored = await _store(cluster, held, kube=kube, reader=reader, unstored=unstored, sleep=sleep, attempts=1)
        if stored.problem is not None:
            return stored
        note = f"Secret {root_token_secret_name(cluster)} (root token and recovery key) is stored now, after retries"
        return BootstrapOutcome(initialized=True, event=("RootTokenStored", note))
    self_init = cluster.spec.self_init is not None and cluster.spec.self_init.enabled
    if is_initialized:
        if recorded or self_init:
            return BootstrapOutcome(initialized=True)
        return await _check_not_lost(cluster, kube=kube, reader=reader, namespace=namespace)
    if self_init and live_replicas <= 1:
        return BootstrapOutcome(initialized=False)  # the initialize blocks do it; the pod's label reports it
    pod0 = next((p for p in pods if podview.ordinal(p) == 0 and podview.running(p)), None)
    if pod0 is None:
        return BootstrapOutcome(initialized=False)  # the pod's status change brings the next pass
    where = podview.target(cluster, pod0, namespace=namespace, ca_pem=ca_pem)
    if where is None:
        return BootstrapOutcome(initialized=False)
    client = connect(where)
    try:
        if await client.initialized():
            if self_init:
                return BootstrapOutcome(initialized=True)
            return await _check_not_lost(cluster, kube=kube, reader=reader, namespace=namespace)
    except BaoUnavailable:
        # still starting, or never will: when to ask again is controller/waiting.py's decision
        return BootstrapOutcome(initialized=False, waiting=f"pod {podview.name(pod0)} to answer sys/init", target=where)
    except BaoApiError as exc:
        return BootstrapOutcome(initialized=False, problem=Problem("InitializationFailed", str(exc)), retry_after=10.0)
    if self_init:
        return BootstrapOutcome(initialized=False, said_uninitialized=True)  # asked only to decide the replicas
    secret_name = root_token_secret_name(cluster)
    existing = await reader.get(SECRET, ObjectKey(namespace, secret_name), direct=True)
    if existing is not None and roottoken.state(existing) != roottoken.PENDING:
        return BootstrapOutcome(
            initialized=False,
            said_uninitialized=True,
            problem=Problem(
                "RootTokenSecretExists",
                f"OpenBao is not initialized but Secret {secret_name} exists (from an earlier cluster?); "
                "the operator does not overwrite it: delete or rename it to let the operator initialize",
            ),
            retry_after=30.0,
        )
    if existing is None:
        try:
            existing = await kube.create(roottoken.placeholder(cluster, namespace=namespace, owner_uid=owner_uid))
        except AlreadyExists:
            return BootstrapOutcome(initialized=False, said_uninitialized=True, retry_after=1.0)  # read it next pass
        except KubeError as exc:
            return BootstrapOutcome(
                initialized=False,
                said_uninitialized=True,
                problem=Problem(
                    "RootTokenSecretNotWritable",
                    f"Secret {secret_name} could not be created ({exc}); OpenBao is initialized only once the "
                    "operator can store the root token and recovery key it returns: check the operator's RBAC "
                    "for creating Secrets, quotas and admission webhooks",
                ),
                retry_after=30.0,
            )
        reader.wrote(SECRET, ObjectKey(namespace, secret_name), existing)
    try:
        result = await client.initialize(recovery_shares=RECOVERY_SHARES, recovery_threshold=RECOVERY_THRESHOLD)
    except (BaoUnavailable, BaoApiError) as exc:
        # NB: a lost answer may still have initialized the node; the next pass asks sys/init again.
        return BootstrapOutcome(initialized=False, problem=Problem("InitializationFailed", str(exc)), retry_after=5.0)
    manifest = roottoken.filled(cluster, result, namespace=namespace, owner_uid=owner_uid)
    stored = await _store(
        cluster, manifest, kube=kube, reader=reader, unstored=unstored, sleep=sleep, attempts=STORE_ATTEMPTS
    )
    pod_name = podview.name(pod0)
    if stored.problem is not None:
        return stored
    return BootstrapOutcome(
        initialized=True,
        event=(
            "Initialized",
            f"initialized OpenBao through {pod_name} with {RECOVERY_SHARES} recovery share; the root token and "
            f"recovery key are stored in Secret {secret_name} (RootTokenStored): restrict access to it, set "
            "spec.rootTokenPolicy: Revoke to keep only the recovery key, or use spec.selfInit to keep no root "
            "token",
        ),
    )


async def _check_not_lost(
    cluster: OpenBaoCluster, *, kube: KubeClient, reader: Reader, namespace: str
) -> BootstrapOutcome:
    """OpenBao is initialized and this is the first pass to see it: was the root token lost to a crash?

    A placeholder that is still ``pending`` means the operator initialized OpenBao and died before it stored
    the answer (controller/roottoken.py). It is marked ``lost`` (a fill that is still under way in a dying
    process is not blocked by that: the fill only needs the token to be absent), and reported."""
    secret_name = root_token_secret_name(cluster)
    existing = await reader.get(SECRET, ObjectKey(namespace, secret_name), direct=True)
    if roottoken.state(existing) != roottoken.PENDING:
        return BootstrapOutcome(initialized=True)
    try:
        marked = await kube.merge_patch(SECRET, secret_name, roottoken.mark_patch(roottoken.LOST), namespace=namespace)
        reader.wrote(SECRET, ObjectKey(namespace, secret_name), marked)
    except KubeError:
        pass  # reported all the same; the next first-seen pass marks it
    message = roottoken.LOST_MESSAGE.format(secret=secret_name)
    return BootstrapOutcome(initialized=True, problem=Problem("RootTokenLost", message), event=None, lost=True)


async def _store(
    cluster: OpenBaoCluster,
    manifest: Manifest,
    *,
    kube: KubeClient,
    reader: Reader,
    unstored: UnstoredInitResults | None,
    sleep: Callable[[float], Awaitable[None]],
    attempts: int,
) -> BootstrapOutcome:
    """Fill the placeholder with what ``sys/init`` returned (or create the Secret if the placeholder was
    deleted meanwhile); never overwrite a stored token. On failure hold the answer for the next pass."""
    meta = manifest["metadata"]
    namespace, secret_name = str(meta["namespace"]), str(meta["name"])
    key = ObjectKey(namespace, secret_name)
    failure = ""
    for attempt in range(attempts):
        if attempt:
            await sleep(0.5 * 2 ** (attempt - 1))
        try:
            if await _write_once(manifest, key=key, kube=kube, reader=reader):
                break
        except KubeError as exc:
            failure = str(exc)  # KubeError messages carry the API status, never the request body
    else:
        if unstored is not None:
            unstored.hold(namespace, cluster.metadata.name, manifest)
        return BootstrapOutcome(
            initialized=True,
            problem=Problem(
                "RootTokenNotStored",
                f"OpenBao is initialized but Secret {secret_name} (root token and recovery key) could not be "
                f"written: {failure}. The operator keeps them in memory and retries; do not restart or delete "
                "the operator until this condition clears (check its RBAC for updating Secrets)",
            ),
            retry_after=5.0,
        )
    if unstored is not None:
        unstored.release(namespace, cluster.metadata.name)
    return BootstrapOutcome(initialized=True)


async def _write_once(manifest: Manifest, *, key: ObjectKey, kube: KubeClient, reader: Reader) -> bool:
    """One attempt; True when the answer is stored (by this attempt or an earlier one whose reply was lost)."""
    live = await reader.get(SECRET, key, direct=True)
    if live is None:
        try:
            reader.wrote(SECRET, key, await kube.create(manifest))
        except AlreadyExists:
            return False  # appeared meanwhile: the next attempt reads it
        return True
    if roottoken.state(live) not in (roottoken.PENDING, roottoken.LOST):
        return True  # a token is there: an earlier attempt stored it; never overwrite
    patch = roottoken.fill_patch(manifest, resource_version=str(live["metadata"]["resourceVersion"]))
    try:
        reader.wrote(SECRET, key, await kube.merge_patch(SECRET, key.name, patch, namespace=key.namespace))
    except Conflict:
        return False  # changed since the read (marked lost, relabelled): read again, fill again
    return True


async def revoke_root_token(
    cluster: OpenBaoCluster,
    pods: Sequence[Manifest],
    *,
    namespace: str,
    ca_pem: str | None,
    kube: KubeClient,
    reader: Reader,
    connect: BaoConnect,
) -> BootstrapOutcome:
    """``spec.rootTokenPolicy: Revoke``: revoke a stored root token in OpenBao, then remove it from the Secret.

    In this order, so a crash between the two leaves a revoked token in the Secret, which the next pass
    removes (OpenBao answers 403 for a token it no longer knows). The recovery key stays."""
    secret_name = root_token_secret_name(cluster)
    key = ObjectKey(namespace, secret_name)
    secret = await reader.get(SECRET, key, direct=True)
    raw = ((secret or {}).get("data") or {}).get(roottoken.TOKEN_KEY)
    if not raw:
        return BootstrapOutcome(initialized=True)
    token = Sensitive(base64.b64decode(raw).decode())
    pod = next((p for p in sorted(pods, key=podview.ordinal) if podview.running(p) and podview.ready(p)), None)
    where = podview.target(cluster, pod, namespace=namespace, ca_pem=ca_pem) if pod is not None else None
    if where is None:
        return BootstrapOutcome(initialized=True, retry_after=10.0)  # no pod serving yet: a pod event comes
    try:
        await connect(where).revoke_self(token)
    except BaoUnavailable:
        return BootstrapOutcome(initialized=True, retry_after=10.0)
    except BaoApiError as exc:
        if exc.status != 403:  # 403: the token is unknown to OpenBao, i.e. already revoked
            problem = Problem("RootTokenNotRevoked", f"revoking the root token in {secret_name} failed: {exc}")
            return BootstrapOutcome(initialized=True, problem=problem, retry_after=30.0)
    patch = roottoken.mark_patch(roottoken.REVOKED, drop_token=True)
    reader.wrote(SECRET, key, await kube.merge_patch(SECRET, secret_name, patch, namespace=namespace))
    note = (
        f"revoked the root token (spec.rootTokenPolicy: Revoke) and removed it from Secret {secret_name}, which "
        "keeps the recovery key: `bao operator generate-root` makes a new root token when one is needed"
    )
    return BootstrapOutcome(initialized=True, event=("RootTokenRevoked", note))


INIT_UNKNOWN_RECHECK_SECONDS = 5.0
"""While a live StatefulSet is held because initialization is unknown, ask pod-0 again this often."""


async def step(ctx: Context) -> Report:
    """Initialize pod-0 once (the StatefulSet grows after it), revoke the root token when the spec asks, and
    decide the replicas to hold while initialization is unknown."""
    cluster, facts, clients = ctx.cluster, ctx.facts, ctx.clients
    live = StatefulSetView.of(facts.live_sts)
    out = Report()
    boot = await bootstrap(
        cluster,
        facts.pods,
        is_initialized=facts.initialized,
        namespace=ctx.namespace,
        owner_uid=ctx.owner_uid,
        ca_pem=ctx.ca_pem,
        kube=clients.kube,
        reader=clients.reader,
        connect=clients.connect,
        unstored=clients.unstored,
        live_replicas=live.replicas,
        recorded=_init_recorded(ctx.live_status),
    )
    facts.initialized = boot.initialized
    out.take(boot, action="Initialize")
    waited = clients.waits.check(
        ctx.key,
        waiting=boot.waiting,
        statefulset=facts.live_sts,
        pods=facts.pods,
        live_status=ctx.live_status,
        target=boot.target,
    )
    out.take(waited, action="Initialize")
    facts.wait_delay = waited.retry_after
    if boot.lost and boot.problem is not None:
        out.event("Warning", "RootTokenLost", "Initialize", boot.problem.message)
    self_init = cluster.spec.self_init is not None and cluster.spec.self_init.enabled
    if facts.initialized and cluster.spec.root_token_policy == "Revoke" and not self_init:  # noqa: S105
        revoked = await revoke_root_token(
            cluster,
            facts.pods,
            namespace=ctx.namespace,
            ca_pem=ctx.ca_pem,
            kube=clients.kube,
            reader=clients.reader,
            connect=clients.connect,
        )
        out.take(revoked, action="RevokeRootToken")
    held = hold_replicas(facts.live_sts, initialized=facts.initialized, said_uninitialized=boot.said_uninitialized)
    facts.replicas = held
    facts.target_replicas = desired_replicas(
        cluster, dataclasses.replace(ctx.render_facts, initialized=facts.initialized, replicas=held)
    )
    if held is not None:
        out.problem(
            "InitializationUnknown",
            f"neither status.initialized nor a pod's openbao-initialized label says whether OpenBao is "
            f"initialized, and pod-0 has not answered sys/init yet: the StatefulSet keeps its {held} replicas "
            "(a live cluster is never shrunk on a missing fact) until OpenBao answers",
        )
        out.after(INIT_UNKNOWN_RECHECK_SECONDS)
    return out


def hold_replicas(live_sts: Manifest | None, *, initialized: bool, said_uninitialized: bool) -> int | None:
    """The live replica count to keep, or None to render as usual.

    Before initialization the render wants the single bootstrap pod. A live StatefulSet with more replicas
    while nothing says "initialized" is a cluster whose status was lost (re-created or restored without
    status, no pod labelled yet): shrinking it would lose quorum. Only OpenBao saying it is uninitialized
    (pod-0's sys/init) lets the render shrink it; until then its count is kept."""
    live = StatefulSetView.of(live_sts).replicas
    if initialized or said_uninitialized or live <= 1:
        return None
    return live


def _init_recorded(live_status: Mapping[str, Any]) -> bool:
    """Status says initialized, and no earlier pass was still holding the root token in memory. A pass that
    held it wrote ``Degraded/RootTokenNotStored``: if this process does not hold it now, the one that did is
    gone, and the bootstrap step must look at the Secret once (controller/roottoken.py, ``lost``)."""
    degraded = ConditionType.DEGRADED.value
    reasons = [c.get("reason") for c in live_status.get("conditions") or () if c.get("type") == degraded]
    return live_status.get("initialized") is True and "RootTokenNotStored" not in reasons
