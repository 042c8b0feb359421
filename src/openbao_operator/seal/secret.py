"""The Secret shape of static unseal keys (their names, key ids and annotations are in api/names.py).

One Secret per key generation, each `immutable: true`, so a key can never be overwritten: the API server
rejects any change of its data. The first key is `<name>-unseal-key` (the reference operator's name, so
its clusters are adopted with their key); a rotation adds `<name>-unseal-key-<rotationID>`. Metadata
records what the data cannot:

- `openbao.org/unseal-key-id`: the id OpenBao stores next to wrapped data (`current_key_id`). Bound to
  the key at creation, so a later edit of spec.unseal.static.currentKeyID cannot detach it.
- `openbao.org/unseal-key-predecessor`: the key Secret this one replaced; it stays mounted as OpenBao's
  `previous_key` until the data is rewrapped.
- `openbao.org/unseal-key-rewrapped: "true"`: set once OpenBao has rewrapped with this key; from then
  on the predecessor is no longer mounted (but never deleted: old snapshots may need it).
- `openbao.org/unseal-key-successor`: a hint on a key Secret naming the key created to replace it, written
  just before that key is created, so an operator that may not list Secrets (cluster-wide mode) finds
  the newest key by following links from the first one. The chain itself is the predecessor annotations.

Ownership rule: a key Secret carries a controller ownerReference to the
cluster only under `deletionPolicy: DeleteAll`, so garbage collection deletes it with the cluster only
when the user asked for that. Under Retain and DeletePVCs it has no owner and outlives the cluster; a
re-created cluster of the same name finds and reuses it. When the policy changes, only
`metadata.ownerReferences` is patched (metadata of an immutable Secret stays mutable).
"""

from __future__ import annotations

import base64
from typing import Any

from openbao_operator.api import OpenBaoCluster, names

from .key import UnsealKey


def requested_rotation_id(cluster: OpenBaoCluster) -> str | None:
    """spec.unseal.static.rotationID: the key generation the user asks for (None: the first key)."""
    unseal = cluster.spec.unseal
    static = unseal.static if unseal is not None else None
    return static.rotation_id if static is not None else None


def owner_references(cluster: OpenBaoCluster, owner_uid: str | None) -> list[dict[str, Any]]:
    """The ownerReferences a key Secret should carry under the cluster's current deletion policy."""
    if cluster.spec.deletion_policy != "DeleteAll" or not owner_uid:
        return []
    return [names.controller_owner_reference(cluster, owner_uid)]


def key_secret_manifest(
    cluster: OpenBaoCluster,
    *,
    namespace: str,
    name: str,
    key: UnsealKey,
    key_id: str,
    predecessor: str | None,
    owner_uid: str | None,
) -> dict[str, Any]:
    """The Secret to POST (create, never apply or update). NB: it holds the key; never log it."""
    annotations = {names.ANNOTATION_UNSEAL_KEY_ID: key_id}
    if predecessor is not None:
        annotations[names.ANNOTATION_UNSEAL_KEY_PREDECESSOR] = predecessor
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": {**names.infra_labels(cluster), names.LABEL_OPENBAO_COMPONENT: names.UNSEAL_KEY_COMPONENT},
        "annotations": annotations,
    }
    refs = owner_references(cluster, owner_uid)
    if refs:
        meta["ownerReferences"] = refs
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "type": "Opaque",
        "immutable": True,
        "data": {names.UNSEAL_KEY_KEY: base64.b64encode(key.material).decode("ascii")},
    }
