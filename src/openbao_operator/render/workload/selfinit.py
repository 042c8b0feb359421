"""Secret `<name>-config-init`: the self-init file (`initialize` blocks), mounted beside config.hcl.

Why a Secret: a self-init request's data is often a secret (a userpass password, an OIDC client secret), and
config.hcl lives in a ConfigMap, which is readable by anyone who may read ConfigMaps. OpenBao reads a second
`-config` file and appends its `initialize` stanzas, so the requests need not be in config.hcl at all. The
name, mount path and key are those of the reference operator's self-init ConfigMap, made a Secret here.

The Secret exists exactly while self-init is enabled (the pods mount it then). It is owned by the cluster and
goes with it. Once OpenBao is initialized (``facts.initialized``) it holds :data:`SPENT` instead of the
``initialize`` blocks: OpenBao's self-init does not wait for a node's raft join, so a pod that starts later
(pod-1 and pod-2 right after the bootstrap, a pod whose volume was lost) and still read the blocks would
bootstrap a raft cluster of its own while its join to pod-0 was in flight (seen with OpenBao 2.7 in
tests/integration/test_operator_token_e2e.py: three "Ready" pods, three clusters of one voter each). The
file stays mounted (the pod template does not change, so nothing rolls); only its content goes. The Secret
is applied before the StatefulSet grows (render.desired.APPLY_STAGES), so the new pods read the spent file.
"""

from __future__ import annotations

import base64

from openbao_operator.api import OpenBaoCluster, names
from openbao_operator.render.config import self_init_enabled
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.meta import Manifest, object_meta

SPENT = (
    "# OpenBao is initialized: the initialize blocks ran once, on the first pod, and are not given to pods\n"
    "# that start later (one that read them would initialise a second cluster instead of joining).\n"
)


def self_init_secret(cluster: OpenBaoCluster, facts: RenderFacts, *, self_init_text: str) -> Manifest | None:
    """The Secret with key config.hcl = the self-init file (:data:`SPENT` once initialized), or None without
    self-init."""
    if not self_init_enabled(cluster):
        return None
    text = SPENT if facts.initialized else self_init_text
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
        "data": {names.CONFIG_FILE_KEY: base64.b64encode(text.encode()).decode("ascii")},
    }
