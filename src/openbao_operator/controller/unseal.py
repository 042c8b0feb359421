"""The static unseal key step: observe the key Secrets, create the first one once, never replace it.

Why create with POST and never apply: an apply could overwrite a key, a POST cannot; AlreadyExists means
an earlier attempt (perhaps by an operator killed right after sending it) won, and that key is kept:
the Secret is read back and the decision is made again with it. The seal package decides everything
else (``plan_unseal_key``); this module only performs what the plan says and hands the key references to
the renderer. Key material never leaves this module except inside the POST body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openbao_operator import seal
from openbao_operator.api import API_VERSION, KIND, OpenBaoCluster
from openbao_operator.kube import AlreadyExists, KubeClient, Manifest, NotFound, ObjectKey
from openbao_operator.render.facts import UnsealKeyRef

from .kinds import CLUSTER_LABEL, SECRET
from .sources import Reader
from .step import Context, Report
from .tls import secret_data


@dataclass(frozen=True)
class UnsealOutcome:
    current: UnsealKeyRef | None
    previous: UnsealKeyRef | None
    ok: bool
    reason: str
    message: str
    created: str | None = None
    """Name of the key Secret created in this pass (for an Event), if any."""
    predecessor: str | None = None
    """The key Secret the created one replaces (a rotation started), if any."""
    rewrapped: str | None = None
    """Name of the key Secret marked rewrapped in this pass (a rotation finished), if any."""


def observed_key_secret(cluster: OpenBaoCluster, secret: Manifest) -> seal.ObservedKeySecret:
    meta = secret.get("metadata") or {}
    owners = tuple(
        str(ref.get("uid"))
        for ref in meta.get("ownerReferences") or ()
        if ref.get("kind") == KIND and ref.get("apiVersion") == API_VERSION and ref.get("name") == cluster.metadata.name
    )
    return seal.ObservedKeySecret(
        name=str(meta.get("name")),
        data=secret_data(secret) or {},
        annotations=dict(meta.get("annotations") or {}),
        owner_uids=owners,
    )


MAX_KEY_SECRETS = 64
"""Bound on the key Secrets followed by their links (a chain of 64 rotations is far beyond any real one)."""


async def observe_key_secrets(
    name: str, *, reader: Reader, namespace: str, rotation_id: str | None = None
) -> list[Manifest]:
    """The key Secrets of cluster ``name``: ``<name>-unseal-key`` and the one ``rotation_id`` names (GET),
    the rotated keys found by label where Secrets are cached, and, where they are not (cluster-wide mode:
    no list of Secrets), the keys their predecessor and successor annotations lead to."""
    found: dict[str, Manifest] = {}
    pending = [seal.key_secret_name(name)]
    if rotation_id is not None and seal.is_key_secret_name(name, seal.key_secret_name(name, rotation_id)):
        pending.append(seal.key_secret_name(name, rotation_id))
    for secret in reader.list(SECRET, namespace=namespace, labels={CLUSTER_LABEL: name}):
        secret_name = str((secret.get("metadata") or {}).get("name"))
        if seal.is_key_secret_name(name, secret_name):
            found.setdefault(secret_name, secret)
    follow = not reader.cached(SECRET)
    asked: set[str] = set()
    while pending and len(asked) < MAX_KEY_SECRETS:
        secret_name = pending.pop()
        if secret_name in asked:
            continue
        asked.add(secret_name)
        seen = found.get(secret_name) or await reader.get(SECRET, ObjectKey(namespace, secret_name))
        if seen is None:
            continue
        found[secret_name] = secret = seen
        if follow:
            annotations = (secret.get("metadata") or {}).get("annotations") or {}
            for link in (seal.ANNOTATION_PREDECESSOR, seal.ANNOTATION_SUCCESSOR):
                linked = annotations.get(link)
                if linked and seal.is_key_secret_name(name, str(linked)):
                    pending.append(str(linked))
    return list(found.values())


async def ensure_unseal_key(
    cluster: OpenBaoCluster,
    *,
    kube: KubeClient,
    reader: Reader,
    namespace: str,
    owner_uid: str | None,
    rewrap_complete: bool = False,
    token_bytes: seal.TokenBytes | None = None,
) -> UnsealOutcome:
    """Create the key Secret if none exists (or a rotation asks for one), fix ownership for the deletion
    policy, mark a rotation rewrapped when ``rewrap_complete`` (see controller/rotation.py), return the refs."""
    rotation_id = seal.requested_rotation_id(cluster)
    secrets = await observe_key_secrets(
        cluster.metadata.name, reader=reader, namespace=namespace, rotation_id=rotation_id
    )

    def decide(token: seal.TokenBytes | None) -> seal.UnsealKeyPlan:
        return seal.plan_unseal_key(
            cluster,
            namespace=namespace,
            observed=[observed_key_secret(cluster, s) for s in secrets],
            rotation_id=rotation_id,
            rewrap_complete=rewrap_complete,
            owner_uid=owner_uid,
            token_bytes=token,
        )

    plan = decide(token_bytes)
    created = predecessor = None
    if plan.create is not None:
        manifest = plan.create.manifest
        key = ObjectKey(namespace, plan.create.ref.secret_name)
        if plan.create.predecessor is not None:
            # NB: the link forward is written before the new key exists, so an operator that cannot list
            # Secrets (cluster-wide mode) always finds the newest key from the first one, even after a crash
            # right after the POST. It is only a hint: the chain itself is the predecessor annotations.
            await _patch(kube, reader, namespace, plan.create.predecessor, _successor(plan.create.ref.secret_name))
        try:
            result = await kube.create(manifest)
            created, predecessor = key.name, plan.create.predecessor
            reader.wrote(SECRET, key, result)
        except AlreadyExists:
            # Someone (an earlier attempt) created it: keep theirs, decide again with it.
            try:
                existing = await kube.get(SECRET, key.name, namespace=namespace)
            except NotFound:
                existing = None
            if existing is not None:
                reader.wrote(SECRET, key, existing)
                secrets = [s for s in secrets if (s.get("metadata") or {}).get("name") != key.name] + [existing]
            plan = decide(_never)
    rewrapped = None
    for secret_name, patch in plan.metadata_patches.items():
        await _patch(kube, reader, namespace, secret_name, patch)
        if (patch.get("annotations") or {}).get(seal.ANNOTATION_REWRAPPED) == "true":
            rewrapped = secret_name
    return UnsealOutcome(
        current=_ref(plan.current),
        previous=_ref(plan.previous),
        ok=plan.ok,
        reason=plan.reason.value,
        message=plan.message,
        created=created,
        predecessor=predecessor,
        rewrapped=rewrapped,
    )


def _successor(secret_name: str) -> dict[str, Any]:
    return {"annotations": {seal.ANNOTATION_SUCCESSOR: secret_name}}


async def _patch(kube: KubeClient, reader: Reader, namespace: str, secret_name: str, patch: dict[str, Any]) -> None:
    """A merge patch of a key Secret's metadata only (its data is immutable and never sent)."""
    result = await kube.merge_patch(SECRET, secret_name, {"metadata": patch}, namespace=namespace)
    reader.wrote(SECRET, ObjectKey(namespace, secret_name), result)


class KeyVanishedError(RuntimeError):
    """The key Secret was reported to exist and then could not be read: retry the reconcile, never regenerate."""


def _never(n: int) -> bytes:
    raise KeyVanishedError("the unseal key Secret existed a moment ago and is gone now; not generating another one")


def _ref(ref: seal.KeyRef | None) -> UnsealKeyRef | None:
    return UnsealKeyRef(secret_name=ref.secret_name, key_id=ref.key_id) if ref is not None else None


async def unseal_key(ctx: Context, *, rewrap_complete: bool = False) -> tuple[UnsealOutcome | None, Report]:
    """The unseal key step for the reconcile: :func:`ensure_unseal_key` and what it did, as Events and problems.
    None when the seal is not a static key (nothing to create or mount)."""
    cluster = ctx.cluster
    out = Report()
    if cluster.spec.unseal is not None and cluster.spec.unseal.type != "static":
        return None, out
    outcome = await ensure_unseal_key(
        cluster,
        kube=ctx.clients.kube,
        reader=ctx.clients.reader,
        namespace=ctx.namespace,
        owner_uid=ctx.owner_uid,
        rewrap_complete=rewrap_complete,
        token_bytes=ctx.clients.token_bytes,
    )
    if outcome.rewrapped:
        out.event(
            "Normal",
            "UnsealKeyRotated",
            "RotateUnsealKey",
            f"OpenBao has rewrapped its keys with {outcome.rewrapped}: the previous key is no longer mounted "
            "(pods restart through the rollout) and its Secret is kept; delete it yourself once no backup "
            "taken before the rotation needs it",
        )
    # a rotation's start is announced from the status transition (the driver's status write), not from the
    # creation: a pass that dies between creating the key and writing status must not lose the Event
    if outcome.created and not outcome.predecessor:
        out.event(
            "Normal",
            "UnsealKeyCreated",
            "CreateUnsealKey",
            f"created the static unseal key Secret {outcome.created}; back it up: losing it loses the data",
        )
    if not outcome.ok:
        out.hold_statefulset = True
        out.problem(outcome.reason, outcome.message)
        out.event("Warning", outcome.reason, "CheckUnsealKey", outcome.message)
    return outcome, out
