"""The static unseal key Secret `<name>-unseal-key`: its shape, and the only way to put a key into it.

Losing this key loses the data (spec/openbao-server.md §1.1), so its lifecycle differs from every other
object and the render makes the safe path the only path:

- The key is never generated here. The controller draws 32 bytes from its injected random source and
  passes them to `UnsealKeySecret.manifest`, which is the only function that builds the Secret's data.
- `unseal_key_secret` returns None once `facts.unseal_secret_exists` is true, so a render for a
  cluster whose key exists cannot even ask for a second one.
- The Secret is `immutable: true`: the API server itself refuses any later change of the key bytes.
- It is therefore *not* part of the server-side-applied object list. The controller must **create** it
  (POST; AlreadyExists means another reconcile won and is fine), never apply, update or patch its data,
  never delete and re-create it, and never read the key back into logs, Events or status.
- Ownership: it carries the controller ownerReference only under `deletionPolicy: DeleteAll`, so
  garbage collection removes it with the cluster only when the user asked for that. Under Retain and
  DeletePVCs it has no owner and survives (the reference instead strips the ownerReference in a
  finalizer, which loses the key if the operator is not running when the cluster is deleted). When the
  policy changes later, the controller updates only `metadata.ownerReferences` (metadata of an immutable
  Secret stays mutable) to match `metadata()`.
- A seal-type change leaves the Secret alone: switching back must find the same key.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass

from openbao_operator.api import OpenBaoCluster
from openbao_operator.render import names
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.meta import Manifest, object_meta

KEY_BYTES = 32
"""OpenBao's static seal wants a 32-byte AES-256-GCM key."""


def uses_static_seal(cluster: OpenBaoCluster) -> bool:
    unseal = cluster.spec.unseal
    return unseal is None or unseal.type == "static"


@dataclass(frozen=True)
class UnsealKeySecret:
    """A Secret the controller must create once, with key bytes it supplies; see the module docstring."""

    _metadata: Manifest

    def metadata(self) -> Manifest:
        """Labels, namespace and the deletion-policy-dependent ownerReference (a fresh copy)."""
        return copy.deepcopy(self._metadata)

    def shape(self) -> Manifest:
        """The Secret without its data: what `render` prints (the key exists only in the cluster)."""
        return {"apiVersion": "v1", "kind": "Secret", "metadata": self.metadata(), "type": "Opaque", "immutable": True}

    def manifest(self, key: bytes) -> Manifest:
        """The complete Secret for a create request; `key` must be exactly 32 random bytes."""
        if len(key) != KEY_BYTES:
            raise ValueError(f"the static unseal key must be {KEY_BYTES} bytes, got {len(key)}")
        return {**self.shape(), "data": {names.UNSEAL_KEY_KEY: base64.b64encode(key).decode("ascii")}}


def unseal_key_secret(cluster: OpenBaoCluster, facts: RenderFacts) -> UnsealKeySecret | None:
    """The Secret still to be created: only for the static seal and only while none exists."""
    if not uses_static_seal(cluster) or facts.unseal_secret_exists:
        return None
    return UnsealKeySecret(unseal_key_metadata(cluster, facts))


def unseal_key_metadata(cluster: OpenBaoCluster, facts: RenderFacts) -> Manifest:
    """What an existing unseal Secret's metadata should be; owned only under deletionPolicy DeleteAll."""
    owned = cluster.spec.deletion_policy == "DeleteAll"
    return object_meta(cluster, facts, names.unseal_secret_name(cluster), owned=owned)
