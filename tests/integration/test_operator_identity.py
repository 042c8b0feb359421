"""The operator's identity in OpenBao (spec.selfInit.oidc) against a real API server and a real `bao`.

The issuer and signing keys are read from the test API server's discovery documents as the operator's own
ServiceAccount (proving the default RBAC lets it), the self-init file is rendered by the project's renderer
and booted by `bao server` (which initialises itself: nobody calls init and no root token is handed out),
then real TokenRequest tokens log in:

- the operator's ServiceAccount gets the openbao-operator role: raft configuration and autopilot state read
  work; everything else it tries gets 403 (sys/mounts, the snapshot, policies, its own auth config, kv);
- another ServiceAccount, or the right one with another audience, cannot log in;
- the backup and restore Jobs' ServiceAccounts log in with their roles through the executor itself (JWT from a
  token file, as the projected volume gives it): a backup into MinIO and a restore of it (rollback) work, and
  the backup role cannot restore.
"""

from __future__ import annotations

import json
import ssl
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace, ServiceAccount

from openbao_operator.api.executor import ExecutorConfig
from openbao_operator.baoapi import BaoApiError, Sensitive
from openbao_operator.baoapi.snapshots import SnapshotClient, node_target
from openbao_operator.executor.backup import run_backup
from openbao_operator.executor.errors import OpenBaoError
from openbao_operator.executor.restore import run_restore
from openbao_operator.kube.client import connect
from openbao_operator.kube.oidc import discover_issuer
from openbao_operator.pki.jwks import jwks_to_pems
from openbao_operator.render.config import render_config
from openbao_operator.render.facts import OperatorIdentity, RenderFacts
from tests.integration.backuphelp import storage_for, target_for
from tests.peers.bao import BaoServer
from tests.peers.controlplane import ControlPlane
from tests.peers.objstore import ObjectStorePeer
from tests.unit.render.config_cases import cluster, manifest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

AUDIENCE = "openbao-internal"
OPERATOR_SA = "openbao-operator"


@pytest.fixture
def namespaces(control_plane: ControlPlane) -> Iterator[tuple[str, str]]:
    """(operator namespace, cluster namespace), with the ServiceAccounts the roles name (and an impostor)."""
    suffix = uuid.uuid4().hex[:8]
    op_ns, ns = f"op-{suffix}", f"vault-{suffix}"
    with control_plane.client() as client:
        for name in (op_ns, ns):
            client.create(Namespace(metadata=ObjectMeta(name=name)))
        for sa_ns, sa in (
            (op_ns, OPERATOR_SA),
            (op_ns, "impostor"),
            (ns, "idc-backup-serviceaccount"),
            (ns, "idc-restore-serviceaccount"),
        ):
            client.create(ServiceAccount(metadata=ObjectMeta(name=sa, namespace=sa_ns)))
    try:
        yield op_ns, ns
    finally:
        with control_plane.client() as client:
            for name in (op_ns, ns):
                client.delete(Namespace, name)


def _token(plane: ControlPlane, namespace: str, name: str, audience: str = AUDIENCE) -> str:
    kubeconfig = plane.service_account_kubeconfig(namespace=namespace, name=name, audiences=[audience],
                                                  expiration_seconds=600)  # fmt: skip
    return str(kubeconfig["users"][0]["user"]["token"])


def _status(bao: BaoServer, method: str, path: str, token: str, body: Any = None) -> int:
    with httpx2.Client(verify=ssl.create_default_context(cafile=str(bao.cacert)), timeout=30) as http:
        resp = http.request(method, f"{bao.addr}/v1/{path}", headers={"X-Vault-Token": token}, json=body)
    return resp.status_code


async def test_operator_and_executors_log_in_with_serviceaccount_tokens_and_minimal_policies(
    control_plane: ControlPlane,
    namespaces: tuple[str, str],
    bao_factory: Callable[..., BaoServer],
    minio: ObjectStorePeer,
    tmp_path: Path,
) -> None:
    op_ns, ns = namespaces
    # (1) discovery as the operator's own ServiceAccount
    kube = connect(_kubeconfig(control_plane, op_ns, OPERATOR_SA))
    try:
        issuer = await discover_issuer(kube)
    finally:
        await kube.close()
    assert issuer.issuer == "https://kubernetes.default.svc.cluster.local"
    identity = OperatorIdentity(issuer=issuer.issuer, pubkeys_pem=jwks_to_pems(issuer.jwks))

    # (2) render and boot: OpenBao initialises itself from the rendered requests
    doc = manifest(
        name="idc",
        namespace=ns,
        selfInit={"enabled": True, "oidc": {"enabled": True}},
        backup={"schedule": "0 3 * * *", "target": target_for(minio)},
    )
    rendered = render_config(
        cluster(doc), facts=RenderFacts(namespace=ns, operator_namespace=op_ns, operator_identity=identity)
    )
    bao = bao_factory(name="idc")
    bao.workdir.joinpath("config", "config.hcl").open("a").write("\n" + rendered.self_init_text)
    bao.start()
    status = bao.wait_unsealed(timeout=90)
    assert status["initialized"] is True  # nobody called init: no root token was ever handed out

    client = SnapshotClient(node_target(bao.addr, ca_pem=bao.ca_pem()))
    # (3) the operator's role, and what its policy allows and refuses
    op_jwt = Sensitive(_token(control_plane, op_ns, OPERATOR_SA))
    op_token = (await client.jwt_login(mount="jwt-operator", role="openbao-operator", jwt=op_jwt)).reveal()
    assert _status(bao, "GET", "sys/storage/raft/configuration", op_token) == 200
    assert _status(bao, "GET", "sys/storage/raft/autopilot/state", op_token) == 200
    for method, path, body in (
        ("GET", "sys/mounts", None),
        ("GET", "sys/storage/raft/snapshot", None),
        ("PUT", "sys/policies/acl/mine", {"policy": 'path "*" { capabilities = ["sudo"] }'}),
        ("POST", "auth/jwt-operator/config", {"bound_issuer": "https://evil.example"}),
        ("POST", "auth/jwt-operator/role/openbao-operator", {"token_policies": ["root"]}),
        ("GET", "auth/token/lookup-self", None),  # no default policy either
    ):
        assert _status(bao, method, path, op_token, body) == 403, f"{method} {path}"

    # (4) who cannot log in
    for jwt in (
        _token(control_plane, op_ns, "impostor"),
        _token(control_plane, op_ns, OPERATOR_SA, audience="someone-else"),
    ):
        with pytest.raises(BaoApiError) as err:
            await client.jwt_login(mount="jwt-operator", role="openbao-operator", jwt=Sensitive(jwt))
        assert err.value.status in (400, 403)

    # (5) the executors, logging in as their Jobs would (the JWT from a file)
    def config(kind: str, role: str) -> ExecutorConfig:
        jwt_file = tmp_path / f"{kind}.jwt"
        jwt_file.write_text(_token(control_plane, ns, f"idc-{kind}-serviceaccount"))
        creds = minio.write_credentials(tmp_path / "creds")
        return ExecutorConfig.model_validate(
            {
                "cluster": "idc",
                "namespace": ns,
                "openbao": {"address": bao.addr, "caFile": str(bao.cacert)},
                "auth": {"method": "jwt", "role": role, "jwtFile": str(jwt_file)},
                "target": doc["spec"]["backup"]["target"],
                "credentialsDir": str(creds),
            }
        )

    backup_config = config("backup", "openbao-operator-backup")
    storage = storage_for(backup_config)
    backup = await run_backup(backup_config, storage=storage)
    assert backup.size > 0
    with pytest.raises(OpenBaoError, match="403"):  # the backup role cannot restore
        await run_restore(backup_config, key=backup.key, storage=storage)
    restore = await run_restore(config("restore", "openbao-operator-restore"), key=backup.key, storage=storage)
    assert restore.sha256 == backup.sha256
    bao.wait_unsealed(timeout=60)
    text = json.dumps({"backup": backup.key})  # nothing secret in what the executors report
    assert op_token not in text


def _kubeconfig(plane: ControlPlane, namespace: str, name: str) -> dict[str, Any]:
    return plane.service_account_kubeconfig(namespace=namespace, name=name)
