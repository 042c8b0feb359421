"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager, kwok.

Why: the operator's behaviour depends on what only a real API server does (validation, defaulting,
admission, RBAC, server-side apply field ownership, CRD schemas) and on real controllers (StatefulSet →
Pods, ownerReference garbage collection, default ServiceAccounts). No hand-written fake stands in.
kwok plays the kubelet for one fake Node, and a small binder plays the scheduler (it binds every
unscheduled pod to that node, regardless of unbound PVCs, which is all the tests need).

Everything listens on 127.0.0.1 on ports chosen at start; every loop here is bounded in time.
"""

from __future__ import annotations

import base64
import contextlib
import json
import ssl
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from lightkube import ApiError, Client, KubeConfig, operators
from lightkube.core import decoders
from lightkube.models import meta_v1
from lightkube.models.authentication_v1 import TokenRequestSpec
from lightkube.models.core_v1 import NodeStatus, ObjectReference
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Binding, Namespace, Node, Pod, ServiceAccount, ServiceAccountToken

from tests.peers import pins
from tests.peers.certs import CertFiles, TestCA, write_rsa_keypair
from tests.peers.procs import PeerError, PeerProcess, free_port, wait_until

FAKE_NODE = "kwok-node-0"
#: A namespace or pod label naming the node the binder binds its pods to (e.g. the node agent's);
#: pods without it go to the kwok node.
NODE_LABEL = "peers.openbao.org/node"
CONTROLLERS = (
    "statefulset-controller",
    # The operator's own Deployment (chart and deploy/, installed in-cluster by test_incluster_e2e.py).
    "deployment-controller",
    "replicaset-controller",
    "garbage-collector-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "namespace-controller",
    "endpointslice-controller",
    "root-ca-certificate-publisher-controller",
    # PVCs carry the kubernetes.io/pvc-protection finalizer (admission adds it); without these
    # controllers a deleted PVC would hang in Terminating forever, hiding deletion-policy bugs.
    "persistentvolumeclaim-protection-controller",
    "persistentvolume-protection-controller",
    # The executor Jobs (backup, restore): the Job controller creates their pod and completes or fails the Job
    # from the pod's phase (the node agent runs it); finished Jobs are deleted after their TTL.
    "job-controller",
    "ttl-after-finished-controller",
)
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kubeconfig_dict(*, server: str, ca_pem: bytes, user: dict[str, str], name: str) -> dict[str, Any]:
    """A one-context kubeconfig (as a dict) for ``server`` with the given user entry."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "peers", "cluster": {"server": server, "certificate-authority-data": _b64(ca_pem)}}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": "peers", "user": name}}],
        "current-context": name,
    }


def write_kubeconfig(config: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


@dataclass
class ControlPlane:
    """A running control plane; ``admin_kubeconfig`` is a system:masters client-certificate config."""

    workdir: Path
    server: str
    ca: TestCA
    admin_cert: CertFiles
    processes: list[PeerProcess] = field(default_factory=list)
    binder: PodBinder | None = None

    @property
    def admin_kubeconfig(self) -> dict[str, Any]:
        user = {
            "client-certificate-data": _b64(self.admin_cert.cert_pem()),
            "client-key-data": _b64(self.admin_cert.key_pem()),
        }
        return kubeconfig_dict(server=self.server, ca_pem=self.ca.cert_pem, user=user, name="admin")

    @property
    def admin_kubeconfig_path(self) -> Path:
        return self.workdir / "admin.kubeconfig"

    def client(self, *, field_manager: str | None = None) -> Client:
        """A synchronous lightkube client as cluster admin."""
        return Client(KubeConfig.from_dict(self.admin_kubeconfig), field_manager=field_manager)

    def get_json(self, path: str) -> Any:
        """GET ``path`` (e.g. ``/version``) from the API server as admin, decoded from JSON."""
        status, body = self.request("GET", path)
        if status != 200:
            raise PeerError(f"GET {path}: HTTP {status}: {body}")
        return body

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
        timeout: float = 30.0,
    ) -> tuple[int, Any]:
        """A raw API request as admin (for what lightkube does not expose, e.g. ``fieldValidation``).

        Returns the HTTP status and the decoded JSON body (a Status object for errors).
        """
        status, data = self.raw_request(method, path, body=body, content_type=content_type, timeout=timeout)
        return status, json.loads(data or b"null")

    def raw_request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
        timeout: float = 30.0,
    ) -> tuple[int, bytes]:
        """:meth:`request` without decoding the answer (objects nested deeper than Python's decoders go)."""
        ctx = _ssl_context(ca=self.ca.files.cert, cert=self.admin_cert)
        req = urllib.request.Request(  # noqa: S310 - the URL is our loopback API server
            f"{self.server}{path}", data=body, method=method, headers={"Content-Type": content_type}
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=ctx) as resp:  # noqa: S310
                return int(resp.status), resp.read()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read()

    def service_account_kubeconfig(
        self,
        *,
        namespace: str,
        name: str,
        expiration_seconds: int = 3600,
        audiences: list[str] | None = None,
    ) -> dict[str, Any]:
        """A kubeconfig authenticating as ServiceAccount ``namespace/name`` with a TokenRequest token."""
        request = ServiceAccountToken(
            metadata=ObjectMeta(name=name, namespace=namespace),
            spec=TokenRequestSpec(audiences=audiences or [SA_ISSUER], expirationSeconds=expiration_seconds),
        )
        with self.client() as client:
            client.get(ServiceAccount, name, namespace=namespace)  # a clear 404 if it does not exist
            issued = client.create(request, name, namespace=namespace)
        assert issued.status is not None
        assert issued.status.token
        return kubeconfig_dict(
            server=self.server,
            ca_pem=self.ca.cert_pem,
            user={"token": issued.status.token},
            name=f"system:serviceaccount:{namespace}:{name}",
        )

    def stop(self) -> None:
        """Stop everything, newest first; safe to call twice."""
        if self.binder is not None:
            self.binder.stop()
        for proc in reversed(self.processes):
            proc.stop()


def warm_decoders(*resources: type[Any]) -> None:
    """Build lightkube's msgspec decoders for ``resources`` (object and list) in the calling thread.

    Why: msgspec builds a type's decoder lazily on first use, and two threads doing that for the same type
    at the same moment can crash the interpreter (a segfault seen with the binder listing Pods while a test
    got a Pod). Call this before starting threads that talk to the API server.
    """
    for res in (*resources, meta_v1.Status):
        for warm in (lambda r: decoders.decode_list(b'{"items":[]}', r), lambda r: decoders.decode_object(b"{}", r)):
            with contextlib.suppress(Exception):  # an empty object may fail validation; the decoder exists now
                warm(res)


class PodBinder:
    """A stand-in for kube-scheduler: binds each unscheduled pod to the fake node, polling every 0.3 s.

    A pod labelled ``NODE_LABEL=<node>``, or in a namespace so labelled, is bound to that node instead.
    """

    def __init__(self, *, kubeconfig: dict[str, Any], node: str, log: Path) -> None:
        self.kubeconfig = kubeconfig
        self.node = node
        self.log = log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pod-binder", daemon=True)

    def start(self) -> PodBinder:
        warm_decoders(Pod, Namespace, Binding)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _note(self, msg: str) -> None:
        with self.log.open("a") as fh:
            fh.write(f"{time.strftime('%H:%M:%S')} {msg}\n")

    def _run(self) -> None:
        max_iterations = 6 * 3600 * 4  # a session never outlives six hours of polling
        client = Client(KubeConfig.from_dict(self.kubeconfig), field_manager="peers-binder")
        with client:
            for _ in range(max_iterations):
                if self._stop.wait(0.3):
                    return
                try:
                    self.bind_pending(client)
                except Exception as exc:  # keep binding; the log shows why a round failed
                    self._note(f"round failed: {exc!r}")

    def bind_pending(self, client: Client) -> None:
        pending = list(client.list(Pod, namespace="*", fields={"spec.nodeName": ""}))
        if not pending:
            return
        ns_nodes = {
            ns.metadata.name: ns.metadata.labels[NODE_LABEL]
            for ns in client.list(Namespace, labels={NODE_LABEL: operators.exists()})
            if ns.metadata is not None and ns.metadata.name and ns.metadata.labels
        }
        for pod in pending:
            meta = pod.metadata
            if meta is None or meta.deletionTimestamp is not None or meta.name is None:
                continue
            if pod.spec is not None and pod.spec.schedulerName not in (None, "default-scheduler"):
                continue
            node = (meta.labels or {}).get(NODE_LABEL) or ns_nodes.get(str(meta.namespace)) or self.node
            binding = Binding(
                metadata=ObjectMeta(name=meta.name, namespace=meta.namespace),
                target=ObjectReference(apiVersion="v1", kind="Node", name=node),
            )
            try:
                client.create(binding, namespace=meta.namespace)
            except ApiError as exc:
                self._note(f"bind {meta.namespace}/{meta.name}: {exc.status.message}")
                continue
            except ValueError:
                pass  # bound: the server answers with a Status, which lightkube cannot read as a Binding
            self._note(f"bound {meta.namespace}/{meta.name} to {node}")


def _ssl_context(*, ca: Path, cert: CertFiles | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca))
    if cert is not None:
        ctx.load_cert_chain(str(cert.cert), str(cert.key))
    return ctx


def http_get(url: str, *, context: ssl.SSLContext | None = None, timeout: float = 5.0) -> tuple[int, str]:
    """GET ``url`` (loopback only); returns status and body, HTTP errors included."""
    assert url.startswith(("http://127.0.0.1:", "https://127.0.0.1:")), url
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as resp:  # noqa: S310
            return int(resp.status), resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode(errors="replace")


def start_etcd(*, workdir: Path, logs: Path) -> tuple[PeerProcess, str]:
    client_port, peer_port = free_port(), free_port()
    client_url, peer_url = f"http://127.0.0.1:{client_port}", f"http://127.0.0.1:{peer_port}"
    proc = PeerProcess(
        name="etcd",
        argv=[
            str(pins.binary("etcd")),
            "--name=peers",
            f"--data-dir={workdir / 'etcd'}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=peers={peer_url}",
            "--unsafe-no-fsync",
            "--log-level=warn",
        ],
        log=logs / "etcd.log",
    ).start()

    def healthy() -> bool:
        status, body = http_get(f"{client_url}/health", timeout=2)
        return status == 200 and json.loads(body).get("health") == "true"

    proc.wait_ready(healthy, what="/health", timeout=30)
    return proc, client_url


def start_control_plane(*, workdir: Path, logs: Path, ready_timeout: float = 90.0) -> ControlPlane:
    """Start etcd, kube-apiserver, kube-controller-manager, kwok and the binder; create the fake node.

    Raises :class:`tests.peers.pins.PeerMissingError` when a binary is not installed and
    :class:`tests.peers.procs.PeerError` (with the peer's log tail) when one does not become ready.
    """
    binaries = {n: pins.binary(n, peer_name="kubernetes") for n in ("kube-apiserver", "kube-controller-manager")}
    kwok_bin, stages = pins.binary("kwok"), pins.kwok_stages()
    pki = workdir / "pki"
    ca = TestCA(directory=pki, common_name="peers-kubernetes-ca")
    serving = ca.issue(
        name="apiserver",
        common_name="kube-apiserver",
        dns_names=("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"),
        ips=("127.0.0.1",),
        server=True,
    )
    admin = ca.issue(name="admin", common_name="peers-admin", organizations=("system:masters",), client=True)
    write_rsa_keypair(private=pki / "sa.key", public=pki / "sa.pub")

    plane = ControlPlane(workdir=workdir, server="", ca=ca, admin_cert=admin)
    try:
        etcd, etcd_url = start_etcd(workdir=workdir, logs=logs)
        plane.processes.append(etcd)

        port = free_port()
        plane.server = f"https://127.0.0.1:{port}"
        apiserver = PeerProcess(
            name="kube-apiserver",
            argv=[
                str(binaries["kube-apiserver"]),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={workdir / 'apiserver-certs'}",
                f"--tls-cert-file={serving.cert}",
                f"--tls-private-key-file={serving.key}",
                f"--client-ca-file={ca.files.cert}",
                "--authorization-mode=RBAC",
                "--allow-privileged=true",  # as real clusters: Pod Security admission is what refuses
                "--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,PodSecurity",
                f"--service-account-issuer={SA_ISSUER}",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--endpoint-reconciler-type=none",
                "--profiling=false",
                "--v=1",
            ],
            log=logs / "kube-apiserver.log",
        ).start()
        plane.processes.append(apiserver)
        write_kubeconfig(plane.admin_kubeconfig, plane.admin_kubeconfig_path)

        ctx = _ssl_context(ca=ca.files.cert, cert=admin)
        apiserver.wait_ready(
            lambda: http_get(f"{plane.server}/readyz", context=ctx, timeout=5)[0] == 200,
            what="/readyz",
            timeout=ready_timeout,
        )

        kcm_port = free_port()
        kcm = PeerProcess(
            name="kube-controller-manager",
            argv=[
                str(binaries["kube-controller-manager"]),
                f"--kubeconfig={plane.admin_kubeconfig_path}",
                "--bind-address=127.0.0.1",
                f"--secure-port={kcm_port}",
                f"--cert-dir={workdir / 'kcm-certs'}",
                f"--controllers={','.join(CONTROLLERS)}",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={ca.files.cert}",
                "--leader-elect=false",
                "--use-service-account-credentials=false",
                "--v=1",
            ],
            log=logs / "kube-controller-manager.log",
        ).start()
        plane.processes.append(kcm)
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        kcm.wait_ready(
            lambda: http_get(f"https://127.0.0.1:{kcm_port}/healthz", context=insecure, timeout=5)[0] == 200,
            what="/healthz",
            timeout=ready_timeout,
        )

        kwok_port = free_port()
        kwok = PeerProcess(
            name="kwok",
            argv=[
                str(kwok_bin),
                f"--kubeconfig={plane.admin_kubeconfig_path}",
                f"--config={stages}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                f"--server-address=127.0.0.1:{kwok_port}",
                "--node-ip=127.0.0.1",
            ],
            log=logs / "kwok.log",
        ).start()
        plane.processes.append(kwok)
        kwok.wait_ready(
            lambda: http_get(f"http://127.0.0.1:{kwok_port}/healthz", timeout=2)[0] == 200,
            what="/healthz",
            timeout=ready_timeout,
        )
        create_fake_node(plane)
        plane.binder = PodBinder(kubeconfig=plane.admin_kubeconfig, node=FAKE_NODE, log=logs / "binder.log").start()
        wait_default_service_account(plane, timeout=ready_timeout)
    except BaseException:
        plane.stop()
        raise
    return plane


def create_fake_node(plane: ControlPlane) -> None:
    """The one Node kwok manages; wait until kwok reports it Ready."""
    capacity = {"cpu": "32", "memory": "256Gi", "pods": "110"}
    node = Node(
        metadata=ObjectMeta(
            name=FAKE_NODE,
            annotations={"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            labels={
                "type": "kwok",
                "kubernetes.io/hostname": FAKE_NODE,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
            },
        ),
        status=NodeStatus(capacity=capacity, allocatable=capacity),
    )
    with plane.client() as client:
        client.create(node)

        def ready() -> bool:
            got = client.get(Node, FAKE_NODE)
            conditions = (got.status.conditions if got.status else None) or []
            return any(c.type == "Ready" and c.status == "True" for c in conditions)

        wait_until(ready, what=f"kwok to make node {FAKE_NODE} Ready", timeout=60)


def wait_default_service_account(plane: ControlPlane, *, timeout: float) -> None:
    """The serviceaccount controller is working once `default/default` exists (pods need it)."""
    with plane.client() as client:

        def exists() -> bool:
            try:
                client.get(ServiceAccount, "default", namespace="default")
            except ApiError as exc:
                if exc.status.code == 404:
                    return False
                raise
            return True

        try:
            wait_until(exists, what="ServiceAccount default/default", timeout=timeout)
        except PeerError as exc:
            raise PeerError(f"{exc} (is kube-controller-manager's serviceaccount-controller running?)") from exc
