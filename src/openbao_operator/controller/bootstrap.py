"""Bootstrap exactly once: one pod, initialized once, then the StatefulSet grows.

Why this shape (openbao-server.md §2, §7): a fresh node can self-initialize a second cluster while its
join is still in flight (openbao#2274). So the StatefulSet has one replica until OpenBao reports
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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from openbao_operator.api import API_VERSION, KIND, OpenBaoCluster
from openbao_operator.baoapi import BaoApiError, BaoClient, BaoUnavailable, InitResult, Sensitive, Target
from openbao_operator.kube import AlreadyExists, KubeClient, KubeError, Manifest, ObjectKey
from openbao_operator.render import names

from . import podview
from .kinds import SECRET
from .sources import Reader
from .status import Problem

BaoConnect = Callable[[Target], BaoClient]
"""How the controller gets a client for one pod (tests inject transports through it)."""

TOKEN_KEY = "token"  # noqa: S105 (a key name, not a value)
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
    return f"{cluster.metadata.name}-root-token"


def default_connect(target: Target) -> BaoClient:
    return BaoClient(target)


@dataclass(frozen=True)
class BootstrapOutcome:
    initialized: bool
    """OpenBao is initialized (observed, or done in this pass)."""
    event: tuple[str, str] | None = None
    """(reason, note) of a Normal Event to record."""
    problem: Problem | None = None
    retry_after: float | None = None


def _secret_manifest(cluster: OpenBaoCluster, result: InitResult, *, namespace: str, owner_uid: str | None) -> Manifest:
    data = {TOKEN_KEY: result.root_token.reveal()}
    for i, key in enumerate(result.recovery_keys):
        data[f"recovery-key-{i}"] = key.reveal()
    meta: dict[str, object] = {
        "name": root_token_secret_name(cluster),
        "namespace": namespace,
        "labels": {**names.infra_labels(cluster), "app.kubernetes.io/component": "root-token"},
    }
    if cluster.spec.deletion_policy == "DeleteAll" and owner_uid:
        meta["ownerReferences"] = [
            {"apiVersion": API_VERSION, "kind": KIND, "name": cluster.metadata.name, "uid": owner_uid}
        ]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


async def root_token(cluster: OpenBaoCluster, *, reader: Reader, namespace: str) -> Sensitive | None:
    """The stored root token (None: selfInit, or none stored)."""
    secret = await reader.get(SECRET, ObjectKey(namespace, root_token_secret_name(cluster)), direct=True)
    raw = ((secret or {}).get("data") or {}).get(TOKEN_KEY)
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
) -> BootstrapOutcome:
    held = unstored.held(namespace, cluster.metadata.name) if unstored is not None else None
    if held is not None:
        stored = await _store(cluster, held, kube=kube, reader=reader, unstored=unstored, sleep=sleep, attempts=1)
        if stored.problem is not None:
            return stored
        note = f"Secret {root_token_secret_name(cluster)} (root token and recovery key) is stored now, after retries"
        return BootstrapOutcome(initialized=True, event=("RootTokenStored", note))
    if is_initialized:
        return BootstrapOutcome(initialized=True)
    if cluster.spec.self_init is not None and cluster.spec.self_init.enabled:
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
            return BootstrapOutcome(initialized=True)
    except BaoUnavailable:
        return BootstrapOutcome(initialized=False, retry_after=2.0)  # still starting
    except BaoApiError as exc:
        return BootstrapOutcome(initialized=False, problem=Problem("InitializationFailed", str(exc)), retry_after=10.0)
    secret_name = root_token_secret_name(cluster)
    if await reader.get(SECRET, ObjectKey(namespace, secret_name), direct=True) is not None:
        return BootstrapOutcome(
            initialized=False,
            problem=Problem(
                "RootTokenSecretExists",
                f"OpenBao is not initialized but Secret {secret_name} exists (from an earlier cluster?); "
                "the operator does not overwrite it: delete or rename it to let the operator initialize",
            ),
            retry_after=30.0,
        )
    try:
        result = await client.initialize(recovery_shares=RECOVERY_SHARES, recovery_threshold=RECOVERY_THRESHOLD)
    except (BaoUnavailable, BaoApiError) as exc:
        # NB: a lost answer may still have initialized the node; the next pass asks sys/init again.
        return BootstrapOutcome(initialized=False, problem=Problem("InitializationFailed", str(exc)), retry_after=5.0)
    manifest = _secret_manifest(cluster, result, namespace=namespace, owner_uid=owner_uid)
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
            f"recovery key are stored in Secret {secret_name} (RootTokenStored): restrict access to it, or use "
            "spec.selfInit to keep no root token",
        ),
    )


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
    """Write the root-token Secret (POST, never overwrite); on failure hold it for the next pass."""
    meta = manifest["metadata"]
    namespace, secret_name = str(meta["namespace"]), str(meta["name"])
    failure = ""
    for attempt in range(attempts):
        if attempt:
            await sleep(0.5 * 2 ** (attempt - 1))
        try:
            created = await kube.create(manifest)
            reader.wrote(SECRET, ObjectKey(namespace, secret_name), created)
            break
        except AlreadyExists:
            break  # an earlier attempt whose answer was lost wrote it; never overwrite
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
                "the operator until this condition clears (check its RBAC for creating Secrets)",
            ),
            retry_after=5.0,
        )
    if unstored is not None:
        unstored.release(namespace, cluster.metadata.name)
    return BootstrapOutcome(initialized=True)
