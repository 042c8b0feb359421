"""``storage "raft"`` with one ``retry_join`` through Kubernetes discovery, and ``service_registration``.

Why:
- No ``node_id``: each pod sets ``BAO_RAFT_NODE_ID`` (its name), so one file serves every pod.
- Joining uses go-discover's k8s provider (``auto_join``) with the cluster's namespace (its default is
  "default") and the pods' own selector (:func:`names.infra_labels`), so it finds exactly this cluster's
  pods. go-discover returns only Running and Ready pods, and their IPs: the leader's certificate is checked
  against ``leader_tls_servername`` (a SAN of the server certificate), not the IP.
- With mounted certificates the joiner trusts the CA file and presents its own certificate; with ACME it
  trusts ``spec.configuration.acmeCARoot`` when set (the reference pointed at a file beside it instead), or
  the system roots; with TLS off it joins over plain HTTP.
- ``service_registration "kubernetes"`` labels each pod with its state (``openbao-active``, ...). The
  namespace is rendered (it is the same for every pod, and without it OpenBao stops at startup); the pod
  name comes from ``BAO_K8S_POD_NAME``.
"""

from __future__ import annotations

from openbao_operator.api import names
from openbao_operator.api.tls import EffectiveTlsMode
from openbao_operator.render.hcl import Attr, Block, Item

from .context import Context
from .listener import acme_domains


def raft_tls_server_name(ctx: Context) -> str:
    """The name a joining pod expects on the leader's certificate (a SAN of the server certificate).

    File-based TLS: ``openbao-cluster-<name>.local``, as the reference operator issues it (External
    certificates must carry it too). ACME: the first domain under ``.svc``, else the first domain.
    """
    if ctx.tls is EffectiveTlsMode.ACME:
        return acme_server_name(acme_domains(ctx))
    return names.raft_tls_server_name(ctx.name)


def acme_server_name(domains: list[str]) -> str:
    """The ACME domain a node is verified by, by its peers and by the operator: the first under ``.svc``
    (reachable inside the cluster), else the first."""
    return next((d for d in domains if ".svc" in d), domains[0])


def auto_join(ctx: Context) -> str:
    """The go-discover string: ``provider=k8s namespace="<ns>" label_selector="<k=v,...>"``."""
    selector = ",".join(f"{k}={v}" for k, v in names.infra_labels(ctx.cluster).items())
    return f'provider=k8s namespace="{ctx.namespace}" label_selector="{selector}"'


def _retry_join(ctx: Context) -> Block:
    body: list[Item] = [
        Attr("auto_join", auto_join(ctx)),
        Attr("auto_join_scheme", "http" if ctx.tls is EffectiveTlsMode.DISABLED else "https"),
        Attr("auto_join_port", names.API_PORT),
    ]
    if ctx.tls.files:
        body += [
            Attr("leader_tls_servername", raft_tls_server_name(ctx)),
            Attr("leader_ca_cert_file", names.TLS_CA_FILE),
            Attr("leader_client_cert_file", names.TLS_CERT_FILE),
            Attr("leader_client_key_file", names.TLS_KEY_FILE),
        ]
    elif ctx.tls is EffectiveTlsMode.ACME:
        body.append(Attr("leader_tls_servername", raft_tls_server_name(ctx)))
        ca_root = ctx.spec.configuration.acme_ca_root if ctx.spec.configuration is not None else None
        if ca_root:
            body.append(Attr("leader_ca_cert_file", ca_root))
    return Block("retry_join", (), tuple(body))


def storage(ctx: Context) -> Block:
    body: list[Item] = [Attr("path", names.DATA_DIR)]
    raft = ctx.spec.configuration.raft if ctx.spec.configuration is not None else None
    if raft is not None and raft.performance_multiplier is not None:
        body.append(Attr("performance_multiplier", raft.performance_multiplier))
    body.append(_retry_join(ctx))
    return Block("storage", ("raft",), tuple(body))


def service_registration(ctx: Context) -> Block:
    return Block("service_registration", ("kubernetes",), (Attr("namespace", ctx.namespace),))
