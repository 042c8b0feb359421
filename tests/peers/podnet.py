"""Pod-like networking for local processes: a network namespace per "pod" with its own IP on a bridge, the
API server reachable at 127.0.0.1 inside each namespace, and optionally the pod IPs reachable from the host.

Why: rendered OpenBao configs listen on ``[::]:8200`` like a real pod (the pod IP is not known when the file
is rendered). Several such processes can only coexist in separate network namespaces. The namespaces are
joined by a bridge living in its own "hub" namespace, so pod-to-pod traffic never crosses the host's
network stack (no host firewall or bridge-netfilter setting can interfere). A small forwarder makes the
loopback control plane answer at the same 127.0.0.1 address and port inside each namespace, so OpenBao's
in-cluster Kubernetes client (service registration, go-discover's k8s provider) verifies the API server's
127.0.0.1 certificate as usual.

``host_link=True`` adds one veth pair between the host and the hub's bridge with ``<subnet>.<n>.1/24`` on
the host end, so the host (probes, the operator, test clients) reaches every pod IP directly, as a node
does. That is the only change to the host's network; it disappears with the hub namespace. Needs root
(``ip netns``); :func:`available` says whether it works here.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
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


def ip_cmd(*args: str) -> None:
    """``ip ARGS`` (iproute2), bounded in time, raising on failure."""
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def available() -> bool:
    """True when network namespaces can be created here (root with iproute2)."""
    if os.geteuid() != 0:
        return False
    name = f"obprobe-{uuid.uuid4().hex[:6]}"
    try:
        ip_cmd("netns", "add", name)
    except (subprocess.CalledProcessError, FileNotFoundError):
        return False
    with contextlib.suppress(subprocess.CalledProcessError):
        ip_cmd("netns", "delete", name)
    return True


@contextlib.contextmanager
def in_netns(name: str) -> Iterator[None]:
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
        with in_netns(netns):
            self.sock = socket.create_server((host, port))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"fwd-{netns}", daemon=True)
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
        except (OSError, ValueError):  # the peer or close() shut a socket under us; never print from here
            return
        finally:
            sel.close()
            conn.close()
            upstream.close()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


def _host_third_octets(subnet: str) -> set[int]:
    """Third octets of ``<subnet>.X.Y`` addresses already configured on the host."""
    res = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, timeout=30, check=False)
    used: set[int] = set()
    for word in res.stdout.split():
        if word.startswith(subnet + "."):
            parts = word.split("/")[0].split(".")
            if len(parts) == 4:
                used.add(int(parts[2]))
    return used


@dataclass
class PodNetwork:
    """A hub namespace with a bridge, and one namespace per pod attached to it with its own IP."""

    prefix: str = field(default_factory=lambda: f"ob{uuid.uuid4().hex[:6]}")
    subnet: str = "10.251"
    host_link: bool = False
    namespaces: list[str] = field(default_factory=list)
    forwarders: dict[str, Forwarder] = field(default_factory=dict)
    host_ports: list[int] = field(default_factory=list)
    """Host loopback ports every pod also reaches at 127.0.0.1 (see :meth:`forward_host_port`)."""
    port_forwarders: dict[str, list[Forwarder]] = field(default_factory=dict)
    _third: int = 0

    def __post_init__(self) -> None:
        if self.host_link:
            # The host route must not clash with another network of this machine (another test run).
            free = sorted(set(range(1, 255)) - _host_third_octets(self.subnet))
            if not free:
                raise RuntimeError(f"no free {self.subnet}.X.0/24 on this host")
            self._third = random.choice(free)
        else:
            # A per-network third octet keeps concurrent networks (other tests) apart inside their hubs anyway.
            self._third = int(self.prefix[2:4], 16)
        self.hub = f"{self.prefix}-hub"
        ip_cmd("netns", "add", self.hub)
        self.namespaces.append(self.hub)
        try:
            ip_cmd("-n", self.hub, "link", "add", "br0", "type", "bridge")
            ip_cmd("-n", self.hub, "link", "set", "br0", "up")
            ip_cmd("-n", self.hub, "link", "set", "lo", "up")
            if self.host_link:
                host_end = f"{self.prefix}h"
                ip_cmd("link", "add", host_end, "type", "veth", "peer", "name", "uplink", "netns", self.hub)
                ip_cmd("-n", self.hub, "link", "set", "uplink", "master", "br0")
                ip_cmd("-n", self.hub, "link", "set", "uplink", "up")
                ip_cmd("addr", "add", f"{self.gateway}/24", "dev", host_end)
                ip_cmd("link", "set", host_end, "up")
        except BaseException:
            self.close()
            raise

    @property
    def gateway(self) -> str:
        """The host's address on the pod network (with ``host_link``): what pods see as the node IP."""
        return f"{self.subnet}.{self._third}.1"

    def ip(self, index: int) -> str:
        """The IP of pod ``index`` (0..240)."""
        if not 0 <= index <= 240:
            raise ValueError(f"pod index out of range: {index}")
        return f"{self.subnet}.{self._third}.{index + 10}"

    def mac(self, index: int) -> str:
        """The (locally administered) MAC address of pod ``index``'s eth0, derived from its IP."""
        octets = [int(x) for x in self.ip(index).split(".")]
        return "02:00:" + ":".join(f"{o:02x}" for o in octets)

    def netns_name(self, index: int) -> str:
        return f"{self.prefix}-p{index}"

    def add_pod(self, index: int, *, api_server_port: int | None = None) -> str:
        """A namespace for pod ``index`` with ``ip(index)`` on eth0; returns the namespace name."""
        ns = self.netns_name(index)
        ip_cmd("netns", "add", ns)
        self.namespaces.append(ns)
        try:
            ip_cmd("-n", ns, "link", "set", "lo", "up")
            host_end = f"{self.prefix}v{index}"
            ip_cmd("-n", self.hub, "link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", ns)
            ip_cmd("-n", self.hub, "link", "set", host_end, "master", "br0")
            ip_cmd("-n", self.hub, "link", "set", host_end, "up")
            # A fixed MAC per IP: a pod recreated with the same IP is reachable at once, without waiting for
            # the neighbour caches of the host and the other pods to forget the old interface (~30 s).
            ip_cmd("-n", ns, "link", "set", "eth0", "address", self.mac(index))
            ip_cmd("-n", ns, "addr", "add", f"{self.ip(index)}/24", "dev", "eth0")
            ip_cmd("-n", ns, "link", "set", "eth0", "up")
            if api_server_port is not None:
                self.forwarders[ns] = Forwarder(ns, "127.0.0.1", api_server_port)
            self.port_forwarders[ns] = [Forwarder(ns, "127.0.0.1", port) for port in self.host_ports]
        except BaseException:
            self.remove_pod(index)
            raise
        return ns

    def remove_pod(self, index: int) -> None:
        """Delete pod ``index``'s namespace (its veth pair goes with it) and its forwarder."""
        ns = self.netns_name(index)
        fwd = self.forwarders.pop(ns, None)
        if fwd is not None:
            fwd.close()
        for extra in self.port_forwarders.pop(ns, []):
            extra.close()
        if ns in self.namespaces:
            self.namespaces.remove(ns)
            # Deleting the veth first removes both ends now; a deleted namespace frees its devices
            # asynchronously, and a pod re-added under the same index would find the name still taken.
            with contextlib.suppress(subprocess.CalledProcessError):
                ip_cmd("-n", self.hub, "link", "delete", f"{self.prefix}v{index}")
            with contextlib.suppress(subprocess.CalledProcessError):
                ip_cmd("netns", "delete", ns)

    def exec_prefix(self, ns: str) -> list[str]:
        return ["ip", "netns", "exec", ns]

    def forward_host_port(self, port: int) -> None:
        """Make the host's ``127.0.0.1:port`` answer at ``127.0.0.1:port`` inside every pod, present and future.

        For peers that stand in for services outside the cluster (an object store the executor Jobs write to):
        the same endpoint URL then works from the test process and from a pod."""
        if port in self.host_ports:
            return
        self.host_ports.append(port)
        for ns, extra in self.port_forwarders.items():
            extra.append(Forwarder(ns, "127.0.0.1", port))

    def close(self) -> None:
        for f in self.forwarders.values():
            f.close()
        self.forwarders.clear()
        for extras in self.port_forwarders.values():
            for f in extras:
                f.close()
        self.port_forwarders.clear()
        for ns in reversed(self.namespaces):
            with contextlib.suppress(subprocess.CalledProcessError):
                ip_cmd("netns", "delete", ns)
        self.namespaces.clear()


def write_service_account(directory: Path, *, token: str, ca_pem: bytes, namespace: str) -> Path:
    """The files a pod sees at /var/run/secrets/kubernetes.io/serviceaccount."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "token").write_text(token)
    (directory / "ca.crt").write_bytes(ca_pem)
    (directory / "namespace").write_text(namespace)
    return directory
