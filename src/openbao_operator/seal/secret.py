"""Names, key ids and the Secret shape of static unseal keys.

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

Ownership rule (ARCHITECTURE.md invariants): a key Secret carries a controller ownerReference to the
cluster only under `deletionPolicy: DeleteAll`, so garbage collection deletes it with the cluster only
when the user asked for that. Under Retain and DeletePVCs it has no owner and outlives the cluster; a
re-created cluster of the same name finds and reuses it. When the policy changes, only
`metadata.ownerReferences` is patched (metadata of an immutable Secret stays mutable).
"""

from __future__ import annotations

import base64
import re
from typing import Any, Final

from openbao_operator.api import API_VERSION, KIND, OpenBaoCluster
from openbao_operator.api.types import ROTATION_ID_REGEX

from .key import UnsealKey

DATA_KEY: Final = "key"
"""The data key of the Secret; mounted as the file /etc/bao/unseal/key."""
SECRET_SUFFIX: Final = "-unseal-key"  # noqa: S105 - a name suffix, not a password
ANNOTATION_KEY_ID: Final = "openbao.org/unseal-key-id"
ANNOTATION_PREDECESSOR: Final = "openbao.org/unseal-key-predecessor"
ANNOTATION_REWRAPPED: Final = "openbao.org/unseal-key-rewrapped"
ANNOTATION_SUCCESSOR: Final = "openbao.org/unseal-key-successor"
LABEL_COMPONENT: Final = "openbao.org/component"
COMPONENT: Final = "unseal-key"
DEFAULT_INITIAL_KEY_ID: Final = "operator-generated-v1"
ROTATED_KEY_ID_PREFIX: Final = "operator-rotated-"

ROTATION_ID_PATTERN: Final = re.compile(ROTATION_ID_REGEX)
"""What a rotation id may look like (it becomes part of a Secret name and of the key id); the API's
spec.unseal.static.rotationID is validated with the same expression."""


def infra_labels(cluster_name: str) -> dict[str, str]:
    """Same labels as render.names.infra_labels (seal may not import render)."""
    return {
        "app.kubernetes.io/name": "openbao",
        "app.kubernetes.io/instance": cluster_name,
        "app.kubernetes.io/managed-by": "openbao-operator",
        "openbao.org/cluster": cluster_name,
    }


def key_secret_name(cluster_name: str, rotation_id: str | None = None) -> str:
    """`<name>-unseal-key` for the first key, `<name>-unseal-key-<rotationID>` after a rotation."""
    base = f"{cluster_name}{SECRET_SUFFIX}"
    return base if rotation_id is None else f"{base}-{rotation_id}"


def is_key_secret_name(cluster_name: str, secret_name: str) -> bool:
    """True for the names `key_secret_name` can produce for this cluster."""
    base = f"{cluster_name}{SECRET_SUFFIX}"
    if secret_name == base:
        return True
    return secret_name.startswith(f"{base}-") and bool(ROTATION_ID_PATTERN.fullmatch(secret_name[len(base) + 1 :]))


def initial_key_id(cluster: OpenBaoCluster) -> str:
    """The id of the first key: spec.unseal.static.currentKeyID (default operator-generated-v1)."""
    unseal = cluster.spec.unseal
    static = unseal.static if unseal is not None else None
    return (static.current_key_id if static is not None else None) or DEFAULT_INITIAL_KEY_ID


def requested_rotation_id(cluster: OpenBaoCluster) -> str | None:
    """spec.unseal.static.rotationID: the key generation the user asks for (None: the first key)."""
    unseal = cluster.spec.unseal
    static = unseal.static if unseal is not None else None
    return static.rotation_id if static is not None else None


def rotated_key_id(rotation_id: str) -> str:
    """The id of a key created by a rotation; never equal to the default initial id."""
    return f"{ROTATED_KEY_ID_PREFIX}{rotation_id}"


def owner_references(cluster: OpenBaoCluster, owner_uid: str | None) -> list[dict[str, Any]]:
    """The ownerReferences a key Secret should carry under the cluster's current deletion policy."""
    if cluster.spec.deletion_policy != "DeleteAll" or not owner_uid:
        return []
    return [
        {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "name": cluster.metadata.name,
            "uid": owner_uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


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
    annotations = {ANNOTATION_KEY_ID: key_id}
    if predecessor is not None:
        annotations[ANNOTATION_PREDECESSOR] = predecessor
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": {**infra_labels(cluster.metadata.name), LABEL_COMPONENT: COMPONENT},
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
        "data": {DATA_KEY: base64.b64encode(key.material).decode("ascii")},
    }
