"""Secret `<name>-config-init`: the self-init file (`initialize` blocks), mounted beside config.hcl.

Why a Secret: a self-init request's data is often a secret (a userpass password, an OIDC client secret), and
config.hcl lives in a ConfigMap, which is readable by anyone who may read ConfigMaps. OpenBao reads a second
`-config` file and appends its `initialize` stanzas, so the requests need not be in config.hcl at all. The
name, mount path and key are those of the reference operator's self-init ConfigMap, made a Secret here.

The Secret exists exactly while self-init is enabled (the pods mount it then). It is owned by the cluster and
goes with it; it is kept after initialization (OpenBao never reads it again, but it is the pods' mounted file,
and the same requests remain in the OpenBaoCluster itself, so deleting the Secret would hide nothing).
"""

from __future__ import annotations

import base64

from openbao_operator.api import OpenBaoCluster, names
from openbao_operator.render.config import self_init_enabled
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.meta import Manifest, object_meta


def self_init_secret(cluster: OpenBaoCluster, facts: RenderFacts, *, self_init_text: str) -> Manifest | None:
    """The Secret with key config.hcl = the self-init file, or None without self-init."""
    if not self_init_enabled(cluster):
        return None
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": object_meta(
            cluster,
            facts,
            names.self_init_secret_name(cluster),
            extra_labels={names.LABEL_OPENBAO_COMPONENT: "self-init"},
        ),
        "type": "Opaque",
        # NB: data, not stringData: the API server stores stringData as data, so a stringData body would never
        # compare equal with the live object and be written again on every reconcile.
        "data": {names.CONFIG_FILE_KEY: base64.b64encode(self_init_text.encode()).decode("ascii")},
    }
