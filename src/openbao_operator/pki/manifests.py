"""The two operator-managed TLS Secrets as API objects, ready for server-side apply.

Why here and not in render: the data is decided by `plan_operator_managed_tls`, and pki may not import
render (sibling layers). The labels are the infra labels every object of the cluster carries
(api/names.py `infra_labels`), so informers map the Secrets back to their cluster. Unlike the unseal
key, TLS material can always be reissued, so both Secrets are owned by the cluster and garbage-collected
with it.
"""

from __future__ import annotations

import base64
from typing import Any

from openbao_operator.api import OpenBaoCluster
from openbao_operator.api import names as k

from .operator_managed import TlsPlan


def _secret(
    cluster: OpenBaoCluster, *, name: str, namespace: str, type_: str, data: dict[str, bytes], owner_uid: str | None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": k.infra_labels(cluster)}
    if owner_uid:
        meta["ownerReferences"] = [k.controller_owner_reference(cluster, owner_uid)]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "type": type_,
        "data": {key: base64.b64encode(value).decode("ascii") for key, value in sorted(data.items())},
    }


def tls_secret_manifests(
    cluster: OpenBaoCluster, plan: TlsPlan, *, namespace: str, owner_uid: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(`<name>-tls-ca`, `<name>-tls-server`) with the plan's data, base64-encoded.

    Apply only the ones the plan says to write (`plan.write_ca_secret`, `plan.write_server_secret`); the
    CA Secret first, so a crash in between never leaves a server certificate whose CA is unknown.
    NB: these dicts hold private keys; never log them.
    """
    name = cluster.metadata.name
    ca = _secret(
        cluster,
        name=k.tls_ca_secret_name(name),
        namespace=namespace,
        type_=k.CA_SECRET_TYPE,
        data=plan.ca_secret.as_dict(),
        owner_uid=owner_uid,
    )
    server = _secret(
        cluster,
        name=k.tls_server_secret_name(name),
        namespace=namespace,
        type_=k.SERVER_SECRET_TYPE,
        data=plan.server_secret.as_dict(),
        owner_uid=owner_uid,
    )
    return ca, server
