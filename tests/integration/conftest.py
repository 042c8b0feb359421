"""Session fixtures for integration tests: one real control plane, a registry, cosign and bao servers.

Why here: every integration test shares one control plane per session (starting it costs seconds, not
minutes, on the warm path) and gets a fresh namespace of its own. A missing or broken peer fails the test
with the install command in the message (tests/skip_policy.py: only ``OPENBAO_TESTS_ALLOW_SKIP=1``, typed by
hand, turns that into a skip). When a test fails, the tails of all peer logs are attached to its report.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from lightkube import AsyncClient, KubeConfig
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace

from openbao_operator.kube import KubeClient, RequestCounter
from tests.integration.crdfixtures import crd_installed, crds_installed  # noqa: F401 - fixtures for every module
from tests.integration.kubehelp import KubeClients, admin
from tests.peers import image, pins, podnet
from tests.peers.bao import BaoServer, new_raft_server
from tests.peers.controlplane import ControlPlane, start_control_plane
from tests.peers.nodeagent import NodeAgent
from tests.peers.objstore import ObjectStorePeer, start_azurite, start_fake_gcs, start_minio
from tests.peers.procs import ALL_LOGS, PeerError, tail
from tests.peers.registry import Cosign, Registry, start_registry
from tests.skip_policy import unavailable


def peer_unavailable(message: str) -> NoReturn:
    """Fail the test (skip only with the explicit opt-out), saying how to install the peers."""
    text = f"test peer unavailable: {message}"
    if pins.INSTALL_HINT not in text:
        text += f"; {pins.INSTALL_HINT}"
    unavailable(text)


@pytest.fixture(scope="session")
def peer_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where every peer of this session writes its log (kept after the run; path printed at the end)."""
    env = os.environ.get("PEERS_LOG_DIR")
    path = Path(env) if env else tmp_path_factory.mktemp("peer-logs")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory, peer_logs: Path) -> Iterator[ControlPlane]:
    """etcd + kube-apiserver + kube-controller-manager + kwok (one fake node) + binder, on loopback."""
    try:
        plane = start_control_plane(workdir=tmp_path_factory.mktemp("control-plane"), logs=peer_logs)
    except pins.PeerMissingError as exc:
        peer_unavailable(str(exc))
    except PeerError as exc:
        pytest.fail(f"control plane did not start: {exc}", pytrace=False)
    try:
        yield plane
    finally:
        plane.stop()


@pytest.fixture
async def kube(control_plane: ControlPlane) -> AsyncIterator[AsyncClient]:
    """An admin lightkube AsyncClient on this test's event loop."""
    client = AsyncClient(KubeConfig.from_dict(control_plane.admin_kubeconfig), field_manager="peers-tests")
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def kube_clients(control_plane: ControlPlane) -> AsyncIterator[KubeClients]:
    """Admin KubeClients made on demand (``kube_clients(field_manager="test-user")``), closed after the test."""
    made: list[KubeClient] = []

    def make(counter: RequestCounter | None = None, **kw: Any) -> KubeClient:
        made.append(admin(control_plane, counter, **kw))
        return made[-1]

    try:
        yield make
    finally:
        for client in made:
            await client.close()


@pytest.fixture
async def namespace(control_plane: ControlPlane, kube: AsyncClient) -> AsyncIterator[str]:
    """A fresh namespace per test (deleted afterwards; the namespace controller cleans it up)."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    await kube.create(Namespace(metadata=ObjectMeta(name=name)))
    try:
        yield name
    finally:
        await kube.delete(Namespace, name)


@pytest.fixture
def ns(control_plane: ControlPlane) -> Iterator[str]:
    """A fresh namespace per test, made and deleted with the synchronous admin client (for tests that drive
    the node agent and other peers from plain functions)."""
    name = f"ns-{uuid.uuid4().hex[:8]}"
    with control_plane.client() as client:
        client.create(Namespace(metadata=ObjectMeta(name=name)))
    try:
        yield name
    finally:
        with control_plane.client() as client:
            client.delete(Namespace, name)


@pytest.fixture
def sa_kubeconfig(control_plane: ControlPlane) -> Callable[..., dict[str, Any]]:
    """``sa_kubeconfig(namespace=..., name=...)``: a kubeconfig dict for that ServiceAccount's token."""
    return control_plane.service_account_kubeconfig


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory, peer_logs: Path) -> Iterator[Registry]:
    """docker-registry on a free loopback port."""
    try:
        reg = start_registry(workdir=tmp_path_factory.mktemp("registry"), logs=peer_logs)
    except pins.PeerMissingError as exc:
        peer_unavailable(str(exc))
    try:
        yield reg
    finally:
        reg.stop()


def _cosign(tmp_path_factory: pytest.TempPathFactory, peer_logs: Path, *, major: int) -> Cosign:
    try:
        pins.binary("crane")  # pushing test images needs it too
        return Cosign(
            workdir=tmp_path_factory.mktemp(f"cosign{major}"), log=peer_logs / f"cosign{major}.log", major=major
        )
    except pins.PeerMissingError as exc:
        peer_unavailable(str(exc))


@pytest.fixture(scope="session")
def cosign(tmp_path_factory: pytest.TempPathFactory, peer_logs: Path) -> Cosign:
    """cosign v2 in offline key mode (the version the spec's offline recipe is proven with)."""
    return _cosign(tmp_path_factory, peer_logs, major=2)


@pytest.fixture(scope="session")
def cosign3(tmp_path_factory: pytest.TempPathFactory, peer_logs: Path) -> Cosign:
    """cosign v3 in offline key mode, classic signature format (the reference operator's library major)."""
    return _cosign(tmp_path_factory, peer_logs, major=3)


@pytest.fixture
def bao_factory(tmp_path: Path, peer_logs: Path) -> Iterator[Callable[..., BaoServer]]:
    """``bao_factory(name=..., pod_layout=False)`` → a configured, not yet started BaoServer.

    Every server made here is stopped at the end of the test.
    """
    try:
        pins.bao_binary()
    except pins.PeerMissingError as exc:
        peer_unavailable(str(exc))
    made: list[BaoServer] = []

    def make(*, name: str = "bao-0", pod_layout: bool = False) -> BaoServer:
        server = new_raft_server(workdir=tmp_path / name, logs=peer_logs, name=name, pod_layout=pod_layout)
        made.append(server)
        return server

    try:
        yield make
    finally:
        for server in made:
            server.stop()


@pytest.fixture(scope="session")
def node_agent(
    control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory, peer_logs: Path
) -> Iterator[NodeAgent]:
    """A second node, ``bao-node-0``, whose pods really run `bao` (tests/peers/nodeagent.py); send a test's
    pods there with ``node_agent.adopt_namespace(namespace)``."""
    try:
        pins.bao_binary()
    except pins.PeerMissingError as exc:
        peer_unavailable(str(exc))
    if not podnet.available():
        peer_unavailable("the node agent needs root and `ip netns` (a network namespace per pod)")
    agent = NodeAgent(control_plane, workdir=tmp_path_factory.mktemp("node-agent"), logs=peer_logs).start()
    try:
        yield agent
    finally:
        agent.stop()


@pytest.fixture(scope="session")
def operator_image(peer_logs: Path) -> image.Build:
    """The working tree's operator image, built once per session with podman (layers reused across runs)."""
    try:
        image.podman_env()
        base = image.base_tar()
        if not base.is_file():
            raise pins.PeerMissingError(f"the image base {base} is missing")
    except pins.PeerMissingError as exc:
        peer_unavailable(str(exc))
    try:
        return image.build_image(log=peer_logs / "image-build.log")
    except PeerError as exc:
        pytest.fail(f"the operator image did not build: {exc}", pytrace=False)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``before_gateway_api`` run first: they need a control plane in which no test has installed
    the Gateway API CRDs yet (CRDs cannot be removed reliably within a session)."""
    items.sort(key=lambda item: item.get_closest_marker("before_gateway_api") is None)


def _object_store(
    start: Callable[..., ObjectStorePeer], tmp_path_factory: pytest.TempPathFactory, peer_logs: Path, name: str
) -> Iterator[ObjectStorePeer]:
    """Object storage peers are never skipped: the backup tests are the only proof of backups, so a missing
    one fails the run locally too (the message says how to install it)."""
    try:
        peer = start(workdir=tmp_path_factory.mktemp(name), logs=peer_logs)
    except pins.PeerMissingError as exc:
        pytest.fail(f"test peer unavailable: {exc}", pytrace=False)
    except PeerError as exc:
        pytest.fail(f"{name} did not start: {exc}", pytrace=False)
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture(scope="session")
def minio(tmp_path_factory: pytest.TempPathFactory, peer_logs: Path) -> Iterator[ObjectStorePeer]:
    """MinIO (S3) on a free loopback port; ``.credentials`` are its root keys."""
    yield from _object_store(start_minio, tmp_path_factory, peer_logs, "minio")


@pytest.fixture(scope="session")
def fake_gcs(tmp_path_factory: pytest.TempPathFactory, peer_logs: Path) -> Iterator[ObjectStorePeer]:
    """fake-gcs-server (GCS JSON and XML APIs, no OAuth) on a free loopback port."""
    yield from _object_store(start_fake_gcs, tmp_path_factory, peer_logs, "fake-gcs-server")


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory, peer_logs: Path) -> Iterator[ObjectStorePeer]:
    """Azurite (Azure Blob) on a free loopback port, account devstoreaccount1 with the emulator's key."""
    yield from _object_store(start_azurite, tmp_path_factory, peer_logs, "azurite")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On a failed integration test, attach the tail of every peer log to the report."""
    report = yield
    if report.failed and item.get_closest_marker("integration") is not None and ALL_LOGS:
        for name, log in ALL_LOGS:
            report.sections.append((f"peer log: {name} ({log})", tail(log, lines=40) or "(empty)"))
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if ALL_LOGS:
        dirs = sorted({str(log.parent) for _, log in ALL_LOGS})
        terminalreporter.write_line(f"peer logs kept in: {', '.join(dirs)}")
