"""Pod-like networking for `bao` processes: a network namespace per "pod", a bridge between them, and the
API server reachable at 127.0.0.1 inside each namespace.

Why: the rendered listener binds ``[::]:8200`` like a real pod (the pod's IP is not known when the file is
rendered, and port-forwarding dials 127.0.0.1). Several such processes, or one next to another test's
server, can only coexist in separate network namespaces. The namespaces are joined by a bridge living in
its own "hub" namespace (the host's network is never touched), and a small forwarder makes the loopback
control plane answer at the same 127.0.0.1 address and port inside each namespace, so OpenBao's in-cluster
Kubernetes client (service registration, go-discover's k8s provider) verifies the API server's 127.0.0.1
certificate as usual. Needs root (``ip netns``); :func:`available` says whether it works here.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import selectors
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def available() -> bool:
    if os.geteuid() != 0:
        return False
    name = f"obprobe-{uuid.uuid4().hex[:6]}"
    try:
        _ip("netns", "add", name)
    except (subprocess.CalledProcessError, FileNotFoundError):
        return False
    with contextlib.suppress(subprocess.CalledProcessError):
        _ip("netns", "delete", name)
    return True


@contextlib.contextmanager
def _in_netns(name: str) -> Iterator[None]:
    """Switch the calling thread (only) into network namespace ``name`` and back."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {name}")
        yield
    finally:
        _libc.setns(own, CLONE_NEWNET)
        os.close(own)
        os.close(target)


class Forwarder:
    """Listen on ``host:port`` inside a namespace; relay each connection to ``host:port`` of this namespace."""

    def __init__(self, netns: str, host: str, port: int) -> None:
        self.target = (host, port)
        with _in_netns(netns):
            self.sock = socket.create_server((host, port))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.5)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, conn: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=10)
        except OSError:
            conn.close()
            return
        sel = selectors.DefaultSelector()
        sel.register(conn, selectors.EVENT_READ, upstream)
        sel.register(upstream, selectors.EVENT_READ, conn)
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=0.5):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            sel.close()
            conn.close()
            upstream.close()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


@dataclass
class PodNetwork:
    """A hub namespace with a bridge, and one namespace per pod attached to it with its own IP."""

    prefix: str = field(default_factory=lambda: f"ob{uuid.uuid4().hex[:6]}")
    subnet: str = "10.251"
    namespaces: list[str] = field(default_factory=list)
    forwarders: list[Forwarder] = field(default_factory=list)
    _third: int = 0

    def __post_init__(self) -> None:
        # A per-network third octet keeps concurrent networks (other tests) apart inside their hubs anyway.
        self._third = int(self.prefix[2:4], 16)
        self.hub = f"{self.prefix}-hub"
        _ip("netns", "add", self.hub)
        self.namespaces.append(self.hub)
        _ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.hub, "link", "set", "br0", "up")
        _ip("-n", self.hub, "link", "set", "lo", "up")

    def ip(self, index: int) -> str:
        return f"{self.subnet}.{self._third}.{index + 10}"

    def add_pod(self, index: int, *, api_server_port: int | None = None) -> str:
        """A namespace for pod ``index`` with ``ip(index)`` on eth0; returns the namespace name."""
        ns = f"{self.prefix}-p{index}"
        _ip("netns", "add", ns)
        self.namespaces.append(ns)
        _ip("-n", ns, "link", "set", "lo", "up")
        host_end = f"{self.prefix}v{index}"
        _ip("-n", self.hub, "link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", ns)
        _ip("-n", self.hub, "link", "set", host_end, "master", "br0")
        _ip("-n", self.hub, "link", "set", host_end, "up")
        _ip("-n", ns, "addr", "add", f"{self.ip(index)}/24", "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        if api_server_port is not None:
            self.forwarders.append(Forwarder(ns, "127.0.0.1", api_server_port))
        return ns

    def exec_prefix(self, ns: str) -> list[str]:
        return ["ip", "netns", "exec", ns]

    def close(self) -> None:
        for f in self.forwarders:
            f.close()
        for ns in reversed(self.namespaces):
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip("netns", "delete", ns)
        self.namespaces.clear()


def write_service_account(directory: Path, *, token: str, ca_pem: bytes, namespace: str) -> Path:
    """The files a pod sees at /var/run/secrets/kubernetes.io/serviceaccount."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "token").write_text(token)
    (directory / "ca.crt").write_bytes(ca_pem)
    (directory / "namespace").write_text(namespace)
    return directory
