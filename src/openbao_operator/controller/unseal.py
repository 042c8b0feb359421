"""The static unseal key step: observe the key Secrets, create the first one once, never replace it.

Why create with POST and never apply: an apply could overwrite a key, a POST cannot; AlreadyExists means
an earlier attempt (perhaps by an operator killed right after sending it) won, and that key is kept:
the Secret is read back and the decision is made again with it. The seal package decides everything
else (``plan_unseal_key``); this module only performs what the plan says and hands the key references to
the renderer. Key material never leaves this module except inside the POST body.
"""

from __future__ import annotations

from dataclasses import dataclass

from openbao_operator import seal
from openbao_operator.api import API_VERSION, KIND, OpenBaoCluster
from openbao_operator.kube import AlreadyExists, KubeClient, Manifest, NotFound, ObjectKey
from openbao_operator.render.facts import UnsealKeyRef

from .kinds import CLUSTER_LABEL, SECRET
from .sources import Reader
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


async def observe_key_secrets(name: str, *, reader: Reader, namespace: str) -> list[Manifest]:
    """The key Secrets of cluster ``name``: a GET of ``<name>-unseal-key`` plus, where Secrets are cached,
    rotated keys found by label."""
    found: dict[str, Manifest] = {}
    base = await reader.get(SECRET, ObjectKey(namespace, seal.key_secret_name(name)))
    if base is not None:
        found[seal.key_secret_name(name)] = base
    # Rotated keys (``<name>-unseal-key-<id>``) are only visible where Secrets are cached (and listable).
    for secret in reader.list(SECRET, namespace=namespace, labels={CLUSTER_LABEL: name}):
        secret_name = str((secret.get("metadata") or {}).get("name"))
        if seal.is_key_secret_name(name, secret_name):
            found.setdefault(secret_name, secret)
    return list(found.values())


async def ensure_unseal_key(
    cluster: OpenBaoCluster,
    *,
    kube: KubeClient,
    reader: Reader,
    namespace: str,
    owner_uid: str | None,
    token_bytes: seal.TokenBytes | None = None,
) -> UnsealOutcome:
    """Create the key Secret if none exists, fix its ownership for the deletion policy, return the refs."""
    secrets = await observe_key_secrets(cluster.metadata.name, reader=reader, namespace=namespace)
    plan = _plan(cluster, secrets, namespace=namespace, owner_uid=owner_uid, token_bytes=token_bytes)
    created = None
    if plan.create is not None:
        manifest = plan.create.manifest
        key = ObjectKey(namespace, plan.create.ref.secret_name)
        try:
            result = await kube.create(manifest)
            created = key.name
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
            plan = _plan(cluster, secrets, namespace=namespace, owner_uid=owner_uid, token_bytes=_never)
    for secret_name, patch in plan.metadata_patches.items():
        result = await kube.merge_patch(SECRET, secret_name, {"metadata": patch}, namespace=namespace)
        reader.wrote(SECRET, ObjectKey(namespace, secret_name), result)
    return UnsealOutcome(
        current=_ref(plan.current),
        previous=_ref(plan.previous),
        ok=plan.ok,
        reason=plan.reason.value,
        message=plan.message,
        created=created,
    )


class KeyVanishedError(RuntimeError):
    """The key Secret was reported to exist and then could not be read: retry the reconcile, never regenerate."""


def _never(n: int) -> bytes:
    raise KeyVanishedError("the unseal key Secret existed a moment ago and is gone now; not generating another one")


def _plan(
    cluster: OpenBaoCluster,
    secrets: list[Manifest],
    *,
    namespace: str,
    owner_uid: str | None,
    token_bytes: seal.TokenBytes | None,
) -> seal.UnsealKeyPlan:
    return seal.plan_unseal_key(
        cluster,
        namespace=namespace,
        observed=[observed_key_secret(cluster, s) for s in secrets],
        owner_uid=owner_uid,
        token_bytes=token_bytes,
    )


def _ref(ref: seal.KeyRef | None) -> UnsealKeyRef | None:
    return UnsealKeyRef(secret_name=ref.secret_name, key_id=ref.key_id) if ref is not None else None
