"""The kubelet rules of the node agent (tests/peers/podspec.py), checked without processes or a cluster."""

from __future__ import annotations

import base64
import http.server
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.peers import podspec

POD: dict[str, Any] = {
    "metadata": {"name": "bao-0", "namespace": "ns1", "uid": "u-1", "labels": {"app": "bao"}},
    "spec": {"nodeName": "bao-node-0", "serviceAccountName": "sa"},
    "status": {"podIP": "10.252.1.10", "podIPs": [{"ip": "10.252.1.10"}]},
}
SECRETS = {
    ("ns1", "s"): {"data": {"k": base64.b64encode(b"secret\x00bytes").decode(), "t": base64.b64encode(b"v").decode()}}
}
CONFIGMAPS = {
    ("ns1", "c"): {"data": {"config.hcl": "ui = true\n"}, "binaryData": {"b": base64.b64encode(b"\x01").decode()}}
}


def secrets(ns: str, name: str) -> dict[str, Any] | None:
    return SECRETS.get((ns, name))


def config_maps(ns: str, name: str) -> dict[str, Any] | None:
    return CONFIGMAPS.get((ns, name))


def token(ns: str, sa: str, audience: str | None, expiration: int) -> str:
    return f"token:{ns}:{sa}:{audience}:{expiration}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://$(POD).svc:8200", "https://bao-0.svc:8200"),
        ("$(UNKNOWN)-x", "$(UNKNOWN)-x"),
        ("$$(POD)", "$(POD)"),
        ("a$$b", "a$b"),
        ("$(POD)$(POD)", "bao-0bao-0"),
    ],
)
def test_expand_follows_kubernetes_rules(value: str, expected: str) -> None:
    assert podspec.expand(value, {"POD": "bao-0"}) == expected


def test_container_env_in_order_with_references() -> None:
    container = {
        "env": [
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "ADDR", "value": "https://$(POD).bao.$(NS).svc:8200"},
            {"name": "LATER", "value": "$(AFTER)"},
            {"name": "AFTER", "value": "x"},
            {"name": "SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "t"}}},
            {"name": "CM", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "config.hcl"}}},
            {"name": "OPT", "valueFrom": {"secretKeyRef": {"name": "missing", "key": "k", "optional": True}}},
        ],
        "envFrom": [{"secretRef": {"name": "s"}, "prefix": "S_"}],
    }
    env = podspec.container_env(POD, container, secrets=secrets, config_maps=config_maps, base={"BASE": "1"})
    assert env["ADDR"] == "https://bao-0.bao.ns1.svc:8200"
    assert env["IP"] == "10.252.1.10"
    assert env["APP"] == "bao"
    assert env["LATER"] == "$(AFTER)"  # only earlier variables are expanded
    assert env["SECRET"] == "v"
    assert env["CM"] == "ui = true\n"
    assert env["S_t"] == "v"
    assert env["BASE"] == "1"
    assert "OPT" not in env


def test_missing_required_references_are_errors() -> None:
    container = {"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "missing", "key": "k"}}}]}
    with pytest.raises(podspec.PodSpecError, match="missing"):
        podspec.container_env(POD, container, secrets=secrets, config_maps=config_maps, base={})
    with pytest.raises(podspec.PodSpecError, match="unsupported fieldPath"):
        podspec.field_ref(POD, "status.nominatedNodeName")


def test_volume_files_secret_configmap_projected() -> None:
    files = podspec.volume_files(
        POD,
        {"name": "tls", "secret": {"secretName": "s", "defaultMode": 0o440}},
        secrets=secrets,
        config_maps=config_maps,
        token=token,
    )
    assert files == [podspec.VolumeFile("k", b"secret\x00bytes", 0o440), podspec.VolumeFile("t", b"v", 0o440)]
    files = podspec.volume_files(
        POD,
        {
            "name": "config",
            "configMap": {"name": "c", "items": [{"key": "config.hcl", "path": "d/config.hcl", "mode": 0o400}]},
        },
        secrets=secrets,
        config_maps=config_maps,
        token=token,
    )
    assert files == [podspec.VolumeFile("d/config.hcl", b"ui = true\n", 0o400)]
    projected = {
        "name": "kube-api-access",
        "projected": {
            "defaultMode": 0o440,
            "sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
                {"configMap": {"name": "c", "items": [{"key": "config.hcl", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
            ],
        },
    }
    files = podspec.volume_files(POD, projected, secrets=secrets, config_maps=config_maps, token=token)
    assert files is not None
    assert {f.path: (f.data, f.mode) for f in files} == {
        "token": (b"token:ns1:sa:None:3600", 0o440),
        "ca.crt": (b"ui = true\n", 0o440),
        "namespace": (b"ns1", 0o440),
    }
    assert (
        podspec.volume_files(
            POD, {"name": "tmp", "emptyDir": {}}, secrets=secrets, config_maps=config_maps, token=token
        )
        is None
    )
    with pytest.raises(podspec.PodSpecError, match="unsupported type"):
        podspec.volume_files(
            POD, {"name": "h", "hostPath": {"path": "/"}}, secrets=secrets, config_maps=config_maps, token=token
        )
    with pytest.raises(podspec.PodSpecError, match="not found"):
        podspec.volume_files(
            POD, {"name": "x", "secret": {"secretName": "nope"}}, secrets=secrets, config_maps=config_maps, token=token
        )


def test_write_volume_replaces_changed_files_and_removes_stale_ones(tmp_path: Path) -> None:
    d = tmp_path / "v"
    assert podspec.write_volume(d, [podspec.VolumeFile("a", b"1", 0o440), podspec.VolumeFile("sub/b", b"2", 0o600)])
    assert stat.S_IMODE((d / "a").stat().st_mode) == 0o440
    assert (d / "sub" / "b").read_bytes() == b"2"
    inode = (d / "a").stat().st_ino
    assert not podspec.write_volume(d, [podspec.VolumeFile("a", b"1", 0o440), podspec.VolumeFile("sub/b", b"2", 0o600)])
    assert (d / "a").stat().st_ino == inode  # unchanged: not rewritten
    assert podspec.write_volume(d, [podspec.VolumeFile("a", b"new", 0o440)])
    assert (d / "a").read_bytes() == b"new"
    assert not (d / "sub" / "b").exists()
    assert not (d / "sub").is_symlink()
    with pytest.raises(podspec.PodSpecError):
        podspec.write_volume(d, [podspec.VolumeFile("../escape", b"", 0o600)])


def test_write_volume_switches_every_file_at_once_through_the_data_link(tmp_path: Path) -> None:
    """The kubelet's layout: names are symlinks through ``..data``; one rename switches the whole payload,
    and the previous payload directory is removed."""
    d = tmp_path / "tls"
    podspec.write_volume(d, [podspec.VolumeFile("tls.crt", b"c1", 0o440), podspec.VolumeFile("tls.key", b"k1", 0o440)])
    assert os.readlink(d / "tls.crt") == "..data/tls.crt"
    first = os.readlink(d / "..data")
    assert first.startswith("..")
    held = (d / "tls.key").open("rb")  # a reader that opened the old key keeps reading the old key
    podspec.write_volume(d, [podspec.VolumeFile("tls.crt", b"c2", 0o440), podspec.VolumeFile("tls.key", b"k2", 0o440)])
    second = os.readlink(d / "..data")
    assert second != first
    assert not (d / first).exists()
    assert ((d / "tls.crt").read_bytes(), (d / "tls.key").read_bytes()) == (b"c2", b"k2")
    assert held.read() == b"k1"
    held.close()
    assert sorted(p.name for p in d.iterdir()) == sorted(["..data", second, "tls.crt", "tls.key"])


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = 204 if "uninitcode=204" in self.path else 501
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[int]:
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()


def test_http_probe_success_range_and_named_ports(server: int) -> None:
    container = {"ports": [{"name": "api", "containerPort": server}]}
    live = {"httpGet": {"path": "/v1/sys/health?uninitcode=204", "port": "api", "scheme": "HTTP"}, "timeoutSeconds": 2}
    ready = {"httpGet": {"path": "/v1/sys/health", "port": server}, "timeoutSeconds": 2}
    assert podspec.run_probe(live, container, pod_ip="127.0.0.1").ok
    result = podspec.run_probe(ready, container, pod_ip="127.0.0.1")
    assert not result.ok
    assert "501" in result.detail
    assert podspec.run_probe({"tcpSocket": {"port": server}}, container, pod_ip="127.0.0.1").ok
    assert not podspec.run_probe({"exec": {"command": ["true"]}}, container, pod_ip="127.0.0.1").ok
    with pytest.raises(podspec.PodSpecError):
        podspec.container_port(container, "nope")


OPERATOR_POD: dict[str, Any] = {
    "metadata": {"name": "op-1", "namespace": "sys", "uid": "u-2"},
    "spec": {
        "terminationGracePeriodSeconds": 20,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532},
        "containers": [
            {
                "name": "operator",
                "image": "127.0.0.1:5000/openbao-operator:0.1.0",
                "args": ["run"],
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        ],
    },
}


def test_podman_run_enforces_the_restricted_security_context() -> None:
    container = OPERATOR_POD["spec"]["containers"][0]
    mounts = [podspec.Mount(Path("/v/token"), "/var/run/secrets/kubernetes.io/serviceaccount", True)]
    argv = podspec.podman_run_argv(
        OPERATOR_POD,
        container,
        name="c",
        netns="ns-p0",
        mounts=mounts,
        env_file=Path("/p/env"),
        command=[],
        args=["run"],
    )
    assert argv[:2] == ["podman", "run"]
    assert "--network=ns:/run/netns/ns-p0" in argv
    assert "--user=65532:65532" in argv
    assert "--read-only" in argv
    assert "--read-only-tmpfs=false" in argv, "Kubernetes gives a read-only root no writable /tmp"
    assert "--cap-drop=ALL" in argv
    assert "--security-opt=no-new-privileges" in argv
    assert "--volume=/v/token:/var/run/secrets/kubernetes.io/serviceaccount:ro" in argv
    assert "--env-file=/p/env" in argv
    assert "--stop-timeout=20" in argv
    assert argv[-2:] == ["127.0.0.1:5000/openbao-operator:0.1.0", "run"]
    assert not any(a.startswith("--entrypoint") for a in argv)


def test_podman_run_command_replaces_the_entrypoint() -> None:
    container = {"name": "c", "image": "img:1"}
    pod = {"metadata": {"name": "p"}, "spec": {}}
    argv = podspec.podman_run_argv(
        pod, container, name="c", netns="n", mounts=[], env_file=Path("/e"), command=["a", "b"], args=["c"]
    )
    assert '--entrypoint=["a", "b"]' in argv
    assert argv[-2:] == ["img:1", "c"]
    assert "--read-only" not in argv
    assert "--security-opt=no-new-privileges" in argv, "allowPrivilegeEscalation unset: podman keeps it off"


def test_podman_refuses_privileged_containers() -> None:
    container = {"name": "c", "image": "img:1", "securityContext": {"privileged": True}}
    with pytest.raises(podspec.PodSpecError, match="privileged"):
        podspec.podman_run_argv(
            {"spec": {}}, container, name="c", netns="n", mounts=[], env_file=Path("/e"), command=[], args=[]
        )


@pytest.mark.parametrize(
    ("container", "policy"),
    [
        ({"image": "r/x:1"}, "IfNotPresent"),
        ({"image": "r/x"}, "Always"),
        ({"image": "r/x:latest"}, "Always"),
        ({"image": "127.0.0.1:5000/x"}, "Always"),
        ({"image": "r/x@sha256:00"}, "IfNotPresent"),
        ({"image": "r/x:1", "imagePullPolicy": "Never"}, "Never"),
    ],
)
def test_pull_policy_defaults(container: dict[str, Any], policy: str) -> None:
    assert podspec.pull_policy(container) == policy


def test_env_file_refuses_multiline_values() -> None:
    assert podspec.env_file_text({"A": "1", "B": "x=y"}) == "A=1\nB=x=y\n"
    with pytest.raises(podspec.PodSpecError, match="env PEM"):
        podspec.env_file_text({"PEM": "a\nb"})
