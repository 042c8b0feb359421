"""config.hcl from the cluster spec: one file for every pod, every stanza typed, version-gated and safe.

Pure code (no I/O, clock or randomness): :func:`render_config` takes the cluster and the injected facts
and returns config.hcl, the self-init file (``initialize`` blocks only, which go into a Secret) and the
restart hash. Each stanza lives in its own module with the reasons for its
choices; :mod:`.secrets` says how each seal secret reaches the pod instead of the file.

Contract with the workload renderer (what the pod must provide for this file to work):
- env ``BAO_API_ADDR`` (``https://<pod IP or DNS>:8200``; ``http`` with TLS off), ``BAO_CLUSTER_ADDR``
  (``https://...:8201``, always https), ``BAO_RAFT_NODE_ID`` (pod name), ``BAO_K8S_POD_NAME``,
  ``BAO_K8S_NAMESPACE``;
- a writable emptyDir at ``names.PLUGIN_DIR``; the raft volume at ``names.DATA_DIR``; the TLS Secret at
  ``names.TLS_DIR`` (file-based TLS only); the unseal Secret at ``names.UNSEAL_DIR`` (static seal);
- the credentials Secret per :data:`.secrets.SEAL_CREDENTIALS`;
- a ServiceAccount that may ``list`` pods (auto_join) and ``get``/``patch`` its own pod (service
  registration): the ClusterRole ``openbao-server`` (render/workload/identity.py);
- while self-init is enabled, the self-init file at ``names.SELF_INIT_FILE`` passed as a second ``-config``,
  and one replica until the cluster reports initialized.
"""

from .context import tls_kind
from .errors import ConfigRenderError
from .render import RenderedConfig, config_items, render_config
from .secrets import SEAL_CREDENTIALS, SealCredential
from .selfinit import self_init_enabled
from .storage import auto_join, raft_tls_server_name

__all__ = [
    "SEAL_CREDENTIALS",
    "ConfigRenderError",
    "RenderedConfig",
    "SealCredential",
    "auto_join",
    "config_items",
    "raft_tls_server_name",
    "render_config",
    "self_init_enabled",
    "tls_kind",
]
