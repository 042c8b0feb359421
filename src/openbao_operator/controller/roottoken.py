"""The root-token Secret ``<name>-root-token``: reserved before ``sys/init``, filled after, revoked on request.

Why a Secret that exists before OpenBao is initialized: ``PUT sys/init`` hands out the root token and
the recovery key exactly once. If the operator could not store them (no RBAC to create Secrets, a quota,
an admission webhook), or died before it did, they would be gone. So the Secret is created first, empty,
as a placeholder: only when that POST succeeded is OpenBao initialized, and the answer is then written into
an object that exists and that the operator has just proven it may write. What cannot be closed is a
crash in the single request between the answer and the fill; the placeholder makes that visible instead of
silent: a later pass finds OpenBao initialized while the Secret is still a placeholder, marks it ``lost``
and says so (Event ``RootTokenLost``), rather than carrying on as if nothing had been handed out.

The state is the annotation ``openbao.org/root-token-state``:

- ``pending``: the placeholder, no data;
- ``stored``: ``token`` and ``recovery-key-N`` (a Secret without the annotation but with ``token``, as the
  reference operator and earlier versions wrote it, is ``stored`` too);
- ``revoked``: ``spec.rootTokenPolicy: Revoke``; the token was revoked in OpenBao and removed, the recovery
  key stays (``bao operator generate-root`` makes a new root token from it when one is needed);
- ``lost``: see above. The annotation never carries a secret.
"""

from __future__ import annotations

import base64
from typing import Any, Final

from openbao_operator.api import API_VERSION, KIND, OpenBaoCluster, names
from openbao_operator.baoapi import InitResult
from openbao_operator.kube import Manifest

STATE_ANNOTATION: Final = "openbao.org/root-token-state"
PENDING: Final = "pending"
STORED: Final = "stored"
REVOKED: Final = "revoked"
LOST: Final = "lost"
TOKEN_KEY: Final = "token"  # noqa: S105 (a key name, not a value)
secret_name = names.root_token_secret_name


def state(secret: Manifest | None) -> str | None:
    """The Secret's state (None: no Secret)."""
    if secret is None:
        return None
    annotated = ((secret.get("metadata") or {}).get("annotations") or {}).get(STATE_ANNOTATION)
    if (secret.get("data") or {}).get(TOKEN_KEY):
        return STORED
    return str(annotated) if annotated in (PENDING, REVOKED, LOST) else STORED


def placeholder(cluster: OpenBaoCluster, *, namespace: str, owner_uid: str | None) -> Manifest:
    """The empty Secret created before ``sys/init``. Owned by the cluster (garbage-collected with it) only
    under ``DeleteAll``, as the unseal key is: the recovery key must survive a deleted cluster otherwise."""
    meta: dict[str, Any] = {
        "name": secret_name(cluster),
        "namespace": namespace,
        "labels": {**names.infra_labels(cluster), "app.kubernetes.io/component": "root-token"},
        "annotations": {STATE_ANNOTATION: PENDING},
    }
    if cluster.spec.deletion_policy == "DeleteAll" and owner_uid:
        meta["ownerReferences"] = [
            {"apiVersion": API_VERSION, "kind": KIND, "name": cluster.metadata.name, "uid": owner_uid}
        ]
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque"}


def filled(cluster: OpenBaoCluster, result: InitResult, *, namespace: str, owner_uid: str | None) -> Manifest:
    """The Secret holding what ``sys/init`` returned. Never log it."""
    out = placeholder(cluster, namespace=namespace, owner_uid=owner_uid)
    out["metadata"]["annotations"] = {STATE_ANNOTATION: STORED}
    data = {TOKEN_KEY: result.root_token.reveal()}
    for i, key in enumerate(result.recovery_keys):
        data[f"recovery-key-{i}"] = key.reveal()
    out["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return out


def fill_patch(filled_secret: Manifest, *, resource_version: str) -> dict[str, Any]:
    """A merge patch that turns the placeholder at ``resource_version`` into ``filled_secret`` (409 if it
    changed meanwhile: the caller reads again and never overwrites a token)."""
    return {
        "metadata": {"annotations": {STATE_ANNOTATION: STORED}, "resourceVersion": resource_version},
        "data": filled_secret["data"],
    }


def mark_patch(new_state: str, *, drop_token: bool = False) -> dict[str, Any]:
    """A merge patch that records ``new_state`` (and removes the token: revocation)."""
    patch: dict[str, Any] = {"metadata": {"annotations": {STATE_ANNOTATION: new_state}}}
    if drop_token:
        patch["data"] = {TOKEN_KEY: None}
    return patch


LOST_MESSAGE: Final = (
    "OpenBao was initialized, but the operator stopped between receiving the root token and recovery key and "
    "storing them in Secret {secret}, so nobody holds them: no root token can ever be generated for this "
    "cluster. It still works (it unseals with the static key; rollouts and scaling need no token). It holds "
    "only what was written since: to start over, delete the OpenBaoCluster with deletionPolicy DeletePVCs "
    "and create it again (or use spec.selfInit, which hands out no root token)"
)
