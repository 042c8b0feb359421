"""The static unseal key Secret as the render shows it: its shape only, never its data.

Losing this key loses the data, so the render takes no part in making it.
The seal package owns its lifecycle: `seal.plan_unseal_key` decides (create once, never regenerate,
rotate only on request) and `seal.key_secret_manifest` is the only code that puts key bytes into a
Secret, which the controller POSTs (never applies, updates or deletes; AlreadyExists is fine). The
Secret is `immutable: true`, so the API server itself refuses any later change of the key, and it is
owned by the cluster only under `deletionPolicy: DeleteAll`.

The render's part: mount the key Secret(s) the seal plan names (`volumes`), and, before the first key
exists (`facts.unseal_key is None`), show the Secret that will be created, so `openbao-operator render`
lists every object. The shape here must equal `seal.key_secret_manifest` without `data` (a unit test
compares them); it is not among the applied objects, so nothing can create it without a key.
"""

from __future__ import annotations

from openbao_operator.api import OpenBaoCluster, names
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.meta import Manifest, object_meta


def uses_static_seal(cluster: OpenBaoCluster) -> bool:
    unseal = cluster.spec.unseal
    return unseal is None or unseal.type == "static"


def unseal_key_shape(cluster: OpenBaoCluster, facts: RenderFacts) -> Manifest | None:
    """The first key Secret, without data, while it does not exist yet; None otherwise (display only)."""
    if not uses_static_seal(cluster) or facts.unseal_key is not None:
        return None
    meta = object_meta(
        cluster,
        facts,
        names.unseal_key_secret_name(cluster),
        owned=cluster.spec.deletion_policy == "DeleteAll",
        annotations={names.ANNOTATION_UNSEAL_KEY_ID: names.initial_unseal_key_id(cluster)},
        extra_labels={names.LABEL_OPENBAO_COMPONENT: names.UNSEAL_KEY_COMPONENT},
    )
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque", "immutable": True}
