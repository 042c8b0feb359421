"""Real OpenBao runs what the config renderer writes: the rendered config.hcl, unchanged, boots `bao server`
with the files and environment a pod has.

- Operator-managed and External TLS with the static seal: boots, initializes, registers itself on its pod
  (service_registration "kubernetes" against the test control plane), unseals by itself after a crash.
- The transit seal: auto-unseals through a real transit engine, authenticated by the environment variable
  the renderer documents (VAULT_TRANSIT_SEAL_TOKEN), never by the file.
- Self-init: OpenBao initializes itself from the initialize blocks, which come from a second config file
  (the Secret <name>-config-init, passed as a second -config exactly as the pod's arguments say); config.hcl
  holds no request; the base64-sent policy is stored byte for byte.
- ACME and every KMS seal type: bao reads the file and fails only where it must reach the outside world
  (or run a plugin binary the test does not have), asserted by message.
Each run also asserts that OpenBao reported no "unknown or unsupported field".
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lightkube.models.core_v1 import Container, PodSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.models.rbac_v1 import PolicyRule, RoleRef, Subject
from lightkube.resources.core_v1 import Namespace, Pod, ServiceAccount
from lightkube.resources.rbac_authorization_v1 import Role, RoleBinding

from openbao_operator.api import names
from openbao_operator.render.config import RenderedConfig, render_config
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.statefulset import server_args
from tests.integration import netns
from tests.integration.config_pods import PodBao, PodFiles
from tests.integration.conftest import peer_unavailable
from tests.peers import pins
from tests.peers.certs import TestCA
from tests.peers.controlplane import ControlPlane
from tests.peers.procs import PeerProcess, run_checked, wait_until
from tests.skip_policy import require
from tests.unit.render.config_cases import SEAL_BLOCKS, SHA, cluster, manifest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(240),
    pytest.mark.usefixtures("pod_networking"),
]

UNKNOWN = "unknown or unsupported field"
SA = "bao-sa"


@pytest.fixture
def pod_networking() -> None:
    """These tests run each pod in its own network namespace: without that capability they cannot run."""
    require(netns.available(), "pod networking needs root and `ip netns` (a network namespace per pod)")


@pytest.fixture
def bao_bin() -> Path:
    try:
        return pins.bao_binary()
    except pins.PeerMissingError as exc:
        peer_unavailable(str(exc))


@pytest.fixture
def network() -> Iterator[netns.PodNetwork]:
    net = netns.PodNetwork()
    try:
        yield net
    finally:
        net.close()


@pytest.fixture
def kube_ns(control_plane: ControlPlane) -> Iterator[str]:
    """A namespace with the pods' ServiceAccount and the RBAC the rendered config needs (auto_join, labels)."""
    name = f"cfg-{uuid.uuid4().hex[:8]}"
    with control_plane.client(field_manager="config-tests") as client:
        client.create(Namespace(metadata=ObjectMeta(name=name)))
        client.create(ServiceAccount(metadata=ObjectMeta(name=SA, namespace=name)))
        client.create(
            Role(
                metadata=ObjectMeta(name="bao", namespace=name),
                rules=[
                    PolicyRule(apiGroups=[""], resources=["pods"], verbs=["get", "list", "watch", "update", "patch"])
                ],
            )
        )
        client.create(
            RoleBinding(
                metadata=ObjectMeta(name="bao", namespace=name),
                roleRef=RoleRef(apiGroup="rbac.authorization.k8s.io", kind="Role", name="bao"),
                subjects=[Subject(kind="ServiceAccount", name=SA, namespace=name)],
            )
        )
    try:
        yield name
    finally:
        with control_plane.client() as client:
            client.delete(Namespace, name)


def create_pod(plane: ControlPlane, namespace: str, name: str, labels: dict[str, str]) -> None:
    """The Pod object a StatefulSet would create; kwok makes it Running and Ready."""
    pod = Pod(
        metadata=ObjectMeta(name=name, namespace=namespace, labels=labels),
        spec=PodSpec(
            serviceAccountName=SA,
            automountServiceAccountToken=False,
            containers=[Container(name="openbao", image="quay.io/openbao/openbao:2.7.2")],
        ),
    )
    with plane.client(field_manager="config-tests") as client:
        client.create(pod)

        def running() -> bool:
            got = client.get(Pod, name, namespace=namespace)
            return bool(got.status and got.status.phase == "Running")

        wait_until(running, what=f"pod {name} Running", timeout=60)


def pod_labels(plane: ControlPlane, namespace: str, name: str) -> dict[str, str]:
    with plane.client() as client:
        got = client.get(Pod, name, namespace=namespace)
    return dict((got.metadata.labels if got.metadata else None) or {})


def sa_files(plane: ControlPlane, namespace: str, directory: Path) -> Path:
    kubeconfig = plane.service_account_kubeconfig(namespace=namespace, name=SA)
    token = kubeconfig["users"][0]["user"]["token"]
    return netns.write_service_account(directory, token=token, ca_pem=plane.ca.cert_pem, namespace=namespace)


def api_port(plane: ControlPlane) -> int:
    return int(plane.server.rsplit(":", 1)[1])


def pod_env(plane: ControlPlane | None, namespace: str, pod: str, ip: str, scheme: str = "https") -> dict[str, str]:
    env = {
        "BAO_API_ADDR": f"{scheme}://{ip}:{names.API_PORT}",
        "BAO_CLUSTER_ADDR": f"https://{ip}:{names.CLUSTER_PORT}",
        "BAO_RAFT_NODE_ID": pod,
        "BAO_K8S_POD_NAME": pod,
        "BAO_K8S_NAMESPACE": namespace,
    }
    if plane is not None:
        env |= {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(api_port(plane))}
    return env


def render(doc: dict[str, Any]) -> RenderedConfig:
    c = cluster(doc)
    return render_config(c, facts=RenderFacts(namespace=str(doc["metadata"]["namespace"])))


def start_single(
    *,
    plane: ControlPlane,
    network: netns.PodNetwork,
    namespace: str,
    doc: dict[str, Any],
    tmp_path: Path,
    logs: Path,
    env: dict[str, str] | None = None,
) -> PodBao:
    name = str(doc["metadata"]["name"])
    pod_name = f"{name}-0"
    c = cluster(doc)
    create_pod(plane, namespace, pod_name, names.infra_labels(c))
    ns = network.add_pod(0, api_server_port=api_port(plane))
    ca = TestCA(directory=tmp_path / "ca", common_name="config-tests-ca") if doc["spec"]["tls"]["enabled"] else None
    rendered = render(doc)
    files = PodFiles(
        root=tmp_path / pod_name,
        config_text=rendered.text,
        self_init_text=rendered.self_init_text,
        ca=ca,
        dns=("localhost", f"openbao-cluster-{name}.local"),
        service_account=sa_files(plane, namespace, tmp_path / "sa"),
    )
    scheme = "https" if ca is not None else "http"
    return PodBao(
        name=pod_name,
        netns=ns,
        files=files,
        pod_env=pod_env(plane, namespace, pod_name, "127.0.0.1", scheme) | (env or {}),
        log=logs / f"{namespace}-{pod_name}.log",
        scheme=scheme,
        args=tuple(server_args(c)),
    )


@pytest.fixture
def pods() -> Iterator[list[PodBao]]:
    made: list[PodBao] = []
    try:
        yield made
    finally:
        for p in made:
            p.stop()


@dataclass
class PodHost:
    """What every test here runs its pod with: the control plane, a namespace with the pods' RBAC, the pod
    network, the pods started (stopped after the test), a scratch directory, the logs and the `bao` binary."""

    plane: ControlPlane
    namespace: str
    network: netns.PodNetwork
    pods: list[PodBao]
    tmp_path: Path
    logs: Path
    bao_bin: Path

    def single(self, doc: dict[str, Any], *, env: dict[str, str] | None = None) -> PodBao:
        """Pod 0 of ``doc``'s cluster, ready to start (stopped after the test)."""
        bao = start_single(plane=self.plane, network=self.network, namespace=self.namespace, doc=doc,
                           tmp_path=self.tmp_path, logs=self.logs, env=env)  # fmt: skip
        self.pods.append(bao)
        return bao

    def offline(self, doc: dict[str, Any]) -> PodBao:
        """A pod whose only way out is the API server (service registration needs it): what fails is what needs
        the outside world."""
        doc["metadata"]["namespace"] = self.namespace
        return self.single(doc)


@pytest.fixture
def host(
    control_plane: ControlPlane,
    kube_ns: str,
    network: netns.PodNetwork,
    pods: list[PodBao],
    tmp_path: Path,
    peer_logs: Path,
    bao_bin: Path,
) -> PodHost:
    return PodHost(control_plane, kube_ns, network, pods, tmp_path, peer_logs, bao_bin)


def _init_restart_kv(bao: PodBao, plane: ControlPlane, namespace: str) -> None:
    bao.start()
    status = bao.status()
    assert status is not None
    assert status["initialized"] is False
    init = json.loads(bao.cli("operator", "init", "-recovery-shares=1", "-recovery-threshold=1", "-format=json").stdout)
    bao.wait_unsealed()

    def registered() -> dict[str, str] | None:
        labels = pod_labels(plane, namespace, bao.name)
        return labels if labels.get("openbao-active") == "true" else None

    labels = wait_until(registered, what="service registration labels on the pod", timeout=30)
    assert labels["openbao-initialized"] == "true"
    assert labels["openbao-sealed"] == "false"
    bao.kill()  # a crash
    bao.start()
    after = bao.wait_unsealed()
    assert after["sealed"] is False
    token = str(init["root_token"])
    bao.cli("secrets", "enable", "-path=kv", "kv-v2", token=token)
    bao.cli("kv", "put", "kv/probe", "answer=42", token=token)
    assert bao.cli("kv", "get", "-field=answer", "kv/probe", token=token).stdout.strip() == "42"
    assert UNKNOWN not in bao.log_text()


@pytest.mark.parametrize("mode", ["OperatorManaged", "External"])
def test_static_seal_boots_inits_and_unseals_after_restart(
    mode: str,
    host: PodHost,
) -> None:
    doc = manifest(
        name="bao",
        namespace=host.namespace,
        tls={"enabled": True, "mode": mode},
        audit=[{"type": "file", "path": "stdout", "fileOptions": {"filePath": "stdout"}}],
        observability={"metrics": {"enabled": True}},
        configuration={"raft": {"performanceMultiplier": 1}, "logLevel": "debug"},
    )
    bao = host.single(doc)
    _init_restart_kv(bao, host.plane, host.namespace)


def test_transit_seal_auto_unseals_with_token_from_environment(
    host: PodHost,
) -> None:
    doc = manifest(
        name="tr",
        namespace=host.namespace,
        unseal={
            "type": "transit",
            "transit": {
                "address": "http://127.0.0.1:8300",
                "keyName": "autounseal",
                "mountPath": "transit/",
                "token": "inline-token-never-used",
            },
            "credentialsSecretRef": {"name": "transit"},
        },
    )
    assert "inline-token-never-used" not in render(doc).text
    bao = host.single(doc, env={"VAULT_TRANSIT_SEAL_TOKEN": "transit-root"})
    # The transit server: a dev-mode OpenBao in the same network namespace.
    dev = PeerProcess(
        name="transit-dev",
        argv=[
            *bao.prefix,
            str(host.bao_bin),
            "server",
            "-dev",
            "-dev-root-token-id=transit-root",
            "-dev-listen-address=127.0.0.1:8300",
        ],
        log=host.logs / f"{host.namespace}-transit-dev.log",
        env={"HOME": str(host.tmp_path), "PATH": "/usr/bin:/bin"},
    ).start()
    bao.extra.append(dev)

    def transit(*args: str) -> Any:
        env = {"HOME": str(host.tmp_path), "PATH": "/usr/bin:/bin", "BAO_ADDR": "http://127.0.0.1:8300",
               "BAO_TOKEN": "transit-root"}  # fmt: skip
        return run_checked([*bao.prefix, str(host.bao_bin), *args], env=env, timeout=30, check=False)

    wait_until(lambda: transit("status").returncode == 0, what="transit dev server", timeout=30)
    assert transit("secrets", "enable", "transit").returncode == 0
    assert transit("write", "-f", "transit/keys/autounseal").returncode == 0
    _init_restart_kv(bao, host.plane, host.namespace)
    assert "Auto Seal: transit" in " ".join(bao.log_text().split())


PASSWORD = "alice-s3cret-pw"
POLICY = 'path "sys/policies/acl/*" {\n  capabilities = ["read"]\n}\n\n# odd but legal: $ % { } " \\ é\n'


INSPECT = (
    'path "auth/jwt/role/*" {\n  capabilities = ["read"]\n}\n'
    'path "sys/storage/raft/autopilot/configuration" {\n  capabilities = ["read"]\n}\n'
)
JWT_ROLE: dict[str, Any] = {
    "role_type": "jwt",
    "user_claim": "sub",
    "bound_audiences": ["vault"],
    "bound_claims": {"kubernetes.io/namespace": "apps", "https://example.com/claim": "yes"},
}


def test_self_init_runs_the_rendered_requests(
    host: PodHost,
) -> None:
    doc = manifest(
        name="si",
        namespace=host.namespace,
        selfInit={
            "enabled": True,
            "requests": [
                {
                    "name": "reader",
                    "operation": "update",
                    "path": "sys/policies/acl/reader",
                    "policy": {"policy": POLICY},
                },
                {
                    "name": "userpass",
                    "operation": "update",
                    "path": "sys/auth/userpass",
                    "authMethod": {"type": "userpass", "description": "people {{ not a template }}"},
                },
                {
                    "name": "alice",
                    "operation": "update",
                    "path": "auth/userpass/users/alice",
                    "data": {
                        "password": PASSWORD,
                        "token_policies": ["reader", "inspect"],
                        "token_ttl": 3600,
                        "nothing": None,
                    },
                },
                # Reference compatibility: raw data on a structured path, a multi-line raw policy, and claim
                # names that are not identifiers (written quoted).
                {"name": "jwt", "operation": "update", "path": "sys/auth/jwt", "data": {"type": "jwt"}},
                {
                    "name": "inspect",
                    "operation": "update",
                    "path": "sys/policies/acl/inspect",
                    "data": {"policy": INSPECT},
                },
                {"name": "jwt-role", "operation": "update", "path": "auth/jwt/role/app", "data": JWT_ROLE},
            ],
        },
    )
    bao = host.single(doc)
    assert bao.args == ("server", f"-config={names.CONFIG_FILE}", f"-config={names.SELF_INIT_FILE}")
    assert "initialize" not in bao.files.config_text  # the ConfigMap's file: no request, no password
    assert PASSWORD not in bao.files.config_text
    assert PASSWORD in bao.files.self_init_text
    bao.start()
    bao.wait_unsealed(timeout=90)  # initialized by itself: nobody called operator init
    login = json.loads(
        bao.cli("login", "-method=userpass", "-format=json", "username=alice", f"password={PASSWORD}").stdout
    )
    token = login["auth"]["client_token"]
    assert login["auth"]["lease_duration"] == 3600
    got = json.loads(bao.cli("read", "-format=json", "sys/policies/acl/reader", token=token).stdout)
    assert got["data"]["policy"] == POLICY
    role = json.loads(bao.cli("read", "-format=json", "auth/jwt/role/app", token=token).stdout)["data"]
    assert role["bound_claims"] == JWT_ROLE["bound_claims"]
    autopilot = json.loads(
        bao.cli("read", "-format=json", "sys/storage/raft/autopilot/configuration", token=token).stdout
    )["data"]
    assert autopilot["cleanup_dead_servers"] is True
    assert autopilot["dead_server_last_contact_threshold"] in ("5m", "5m0s")  # the reference's default
    assert UNKNOWN not in bao.log_text()
    assert base64.b64encode(POLICY.encode()).decode() in bao.files.self_init_text


def _expect_failure(bao: PodBao, *messages: str) -> str:
    bao.start(wait_listener=False)
    code, log = bao.wait_exit(timeout=90)
    assert code != 0, log
    for message in messages:
        assert message in log, log
    assert UNKNOWN not in log
    return log


@pytest.mark.parametrize("seal_type", sorted(SEAL_BLOCKS))
def test_kms_plugin_seal_parses_and_fails_only_on_the_missing_plugin(
    seal_type: str,
    host: PodHost,
) -> None:
    block, options = SEAL_BLOCKS[seal_type]
    command = f"openbao-plugin-kms-{seal_type}"
    doc = manifest(
        name="kms",
        namespace="offline",
        unseal={"type": seal_type, block: options, "kmsPlugin": {"command": command, "sha256sum": SHA}},
    )
    bao = host.offline(doc)
    log = _expect_failure(
        bao,
        f'Error configuring seal "{seal_type}"',
        f"error while validating the command path: lstat {names.PLUGIN_DIR}/{command}: no such file or directory",
    )
    assert "unknown wrapper" not in log


def test_kms_plugin_image_fails_only_on_the_download(
    host: PodHost,
) -> None:
    block, options = SEAL_BLOCKS["gcpckms"]
    doc = manifest(
        name="kmsimg",
        namespace="offline",
        unseal={
            "type": "gcpckms",
            block: options,
            "kmsPlugin": {"image": "ghcr.io/openbao/openbao-plugin-kms-gcpckms", "version": "v0.1.0", "sha256sum": SHA},
        },
    )
    bao = host.offline(doc)
    _expect_failure(bao, "Error downloading plugins", "failed to fetch OCI descriptor", "ghcr.io")


def test_kmip_seal_parses_and_fails_only_on_the_connection(
    host: PodHost,
) -> None:
    doc = manifest(
        name="kmip",
        namespace="offline",
        unseal={"type": "kmip", "kmip": {"address": "127.0.0.1:5696", "kmsKeyID": "key-1", "timeout": 5}},
    )
    bao = host.offline(doc)
    _expect_failure(bao, 'Error configuring seal "kmip"', "failed to dial kmip connection endpoint", "5696")


def test_acme_listener_parses_and_fails_only_on_the_acme_directory(
    host: PodHost,
) -> None:
    doc = manifest(
        name="acme",
        namespace="offline",
        tls={
            "enabled": True,
            "mode": "ACME",
            "acme": {"directoryURL": "https://acme.invalid/directory", "domains": ["bao.example.com"]},
        },
    )
    bao = host.offline(doc)
    bao.start(wait_listener=False)
    # The listener comes up and obtains its certificate on demand: a TLS handshake makes it ask the
    # directory, which this offline pod cannot reach.
    deadline = time.monotonic() + 60
    log = ""
    while time.monotonic() < deadline:
        bao.cli("status", check=False, env={"BAO_TLS_SERVER_NAME": "bao.example.com"})
        log = bao.log_text()
        if "could not get certificate from issuer" in log:
            break
        assert bao.proc is not None
        bao.proc.check_alive()
        time.sleep(1)
    assert "could not get certificate from issuer" in log, log
    assert "https://acme.invalid/directory" in log
    assert UNKNOWN not in log
    assert bao.proc is not None
    assert bao.proc.alive()
