"""The Helm chart, with the pinned helm and kubectl: lint, the same objects as deploy/, values refused by name,
and every rendered object accepted by the real API server (server-side dry run: its schema validation).

deploy/ is the source of the RBAC (scripts/gen_chart.py); here the rendered chart with default values is
compared object by object with deploy/ (kustomize's view: the files its kustomization lists), the chart's
own labels removed; in namespace mode with deploy/namespace-mode/rbac.yaml once per watched namespace.
"""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import peer_unavailable
from tests.peers import kubetools, pins
from tests.peers.controlplane import ControlPlane

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

CHART = pins.REPO_ROOT / "charts" / "openbao-operator"
DEPLOY = pins.REPO_ROOT / "deploy"
NAMESPACE = "openbao-operator-system"
HELM_LABELS = {
    "helm.sh/chart",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/part-of",
}
Obj = dict[str, Any]


@pytest.fixture(scope="module")
def helm_cli(tmp_path_factory: pytest.TempPathFactory, peer_logs: Path) -> kubetools.Tool:
    try:
        return kubetools.helm(workdir=tmp_path_factory.mktemp("helm"), log=peer_logs / "helm.log")
    except pins.PeerMissingError as exc:
        peer_unavailable(str(exc))


def template(helm: kubetools.Tool, *args: str, namespace: str = NAMESPACE) -> list[Obj]:
    out = helm.run("template", "openbao-operator", str(CHART), f"--namespace={namespace}", "--include-crds", *args)
    return [d for d in yaml.safe_load_all(out.stdout) if isinstance(d, dict)]


def _strip(labels: dict[str, str] | None) -> dict[str, str]:
    return {k: v for k, v in (labels or {}).items() if k not in HELM_LABELS}


def normalize(obj: Obj) -> Obj:
    """The object without the chart's release labels (deploy/ does not carry them)."""
    out = copy.deepcopy(obj)
    for meta in (out["metadata"], ((out.get("spec") or {}).get("template") or {}).get("metadata")):
        if meta is None:
            continue
        labels = _strip(meta.get("labels"))
        if labels:
            meta["labels"] = labels
        else:
            meta.pop("labels", None)
    return out


def keyed(objects: list[Obj]) -> dict[tuple[str, str, str], Obj]:
    return {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): normalize(o) for o in objects}


def _docs(path: Path) -> list[Obj]:
    return [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]


def deploy_objects(*, watch: tuple[str, ...] = ()) -> list[Obj]:
    """What ``kubectl apply -k deploy/`` creates (Namespace aside: helm installs into an existing one), or its
    documented namespace mode: namespace-mode/rbac.yaml per watched namespace instead of rbac-cluster.yaml."""
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    out: list[Obj] = []
    for resource in kustomization["resources"]:
        if watch and resource == "rbac-cluster.yaml":
            continue
        out += [d for d in _docs(DEPLOY / resource) if d["kind"] != "Namespace"]
    if watch:
        for ns in watch:
            for doc in _docs(DEPLOY / "namespace-mode" / "rbac.yaml"):
                text = yaml.safe_dump(doc).replace("WATCHED_NAMESPACE", ns)
                out.append(yaml.safe_load(text))
        deployment = next(o for o in out if o["kind"] == "Deployment")
        for env in deployment["spec"]["template"]["spec"]["containers"][0]["env"]:
            if env["name"] == "OPENBAO_OPERATOR_WATCH_NAMESPACE":
                env["value"] = ",".join(watch)
    unique: dict[tuple[str, str, str], Obj] = {}
    for o in out:  # namespace mode repeats its cluster-scoped objects per namespace: one of each
        unique[(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])] = o
    return list(unique.values())


def test_lint(helm_cli: kubetools.Tool) -> None:
    for args in ([], ["--set=watchNamespaces={team-a,team-b}"], ["--set=metrics.serviceMonitor.enabled=true"]):
        out = helm_cli.run("lint", "--strict", str(CHART), *args)
        assert "1 chart(s) linted, 0 chart(s) failed" in out.stdout


def test_default_values_render_the_deploy_manifests(helm_cli: kubetools.Tool) -> None:
    chart = keyed(template(helm_cli))
    deploy = keyed(deploy_objects())
    assert sorted(chart) == sorted(deploy)
    for key, obj in deploy.items():
        assert chart[key] == obj, key


def test_namespace_mode_renders_the_deploy_namespace_mode(helm_cli: kubetools.Tool) -> None:
    watch = ("team-a", "team-b")
    chart = keyed(template(helm_cli, "--set=watchNamespaces={team-a,team-b}"))
    deploy = keyed(deploy_objects(watch=watch))
    assert sorted(chart) == sorted(deploy)
    for key, obj in deploy.items():
        assert chart[key] == obj, key
    assert ("ClusterRole", "", "openbao-operator") not in chart, "namespace mode has no cluster-wide role"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set=replicaCount=two"], "at '/replicaCount': got string, want integer"),
        (["--set=replicas=3"], "additional properties 'replicas' not allowed"),
        (["--set=image.pullPolicy=Sometimes"], "at '/image/pullPolicy'"),
        (["--set=image.digest=sha256:12"], "at '/image/digest'"),
        (["--set=watchNamespaces={Team_A}"], "at '/watchNamespaces/0'"),
        (["--set=leaderElection.enabled=false"], "at '/replicaCount': maximum: got 2, want 1"),
        (["--set=workers=0"], "at '/workers'"),
        (["--set=logFormat=xml"], "at '/logFormat'"),
        (["--set=metrics.serviceMonitor.interval=often"], "at '/metrics/serviceMonitor/interval'"),
        (
            ["--set=metrics.serviceMonitor.enabled=true", "--set=metrics.service.enabled=false"],
            "metrics.serviceMonitor.enabled needs metrics.service.enabled",
        ),
    ],
)
def test_bad_values_fail_naming_the_value(helm_cli: kubetools.Tool, args: list[str], message: str) -> None:
    res = helm_cli.run("template", "openbao-operator", str(CHART), *args, check=False)
    assert res.returncode != 0
    assert message in res.stderr


def test_values_reach_the_objects(helm_cli: kubetools.Tool) -> None:
    digest = "sha256:" + "ab" * 32
    objs = keyed(
        template(
            helm_cli,
            "--set=image.repository=registry.example/ops/openbao-operator",
            f"--set=image.digest={digest}",
            "--set=replicaCount=1",
            "--set=leaderElection.enabled=false",
            "--set=logLevel=DEBUG",
            "--set=workers=4",
            "--set=resyncSeconds=120",
            "--set=metrics.serviceMonitor.enabled=true",
            "--set=nodeSelector.kubernetes\\.io/os=linux",
        )
    )
    deployment = objs[("Deployment", NAMESPACE, "openbao-operator")]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == f"registry.example/ops/openbao-operator@{digest}"
    assert deployment["spec"]["replicas"] == 1
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["OPENBAO_OPERATOR_LEADER_ELECTION"] == "false"
    assert env["OPENBAO_OPERATOR_LOG_LEVEL"] == "DEBUG"
    assert env["OPENBAO_OPERATOR_WORKERS"] == "4"
    assert env["OPENBAO_OPERATOR_RESYNC_SECONDS"] == "120"
    assert pod["nodeSelector"] == {"kubernetes.io/os": "linux"}
    monitor = objs[("ServiceMonitor", NAMESPACE, "openbao-operator")]
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    tag = keyed(template(helm_cli, "--set=image.tag=9.9.9"))[("Deployment", NAMESPACE, "openbao-operator")]
    assert tag["spec"]["template"]["spec"]["containers"][0]["image"].endswith("openbao-operator:9.9.9")


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--set=watchNamespaces={NS}"],
        [
            "--set=replicaCount=1",
            "--set=leaderElection.enabled=false",
            "--set=leaderElection.leaseDuration=20",
            "--set=logLevel=DEBUG",
            "--set=workers=4",
            "--set=resyncSeconds=120",
            "--set=clusterDomain=example.internal",
            "--set=apiServerCIDR=10.0.0.1/32",
            "--set=imagePullSecrets[0].name=pull",
            "--set=priorityClassName=system-cluster-critical",
            "--set=tolerations[0].operator=Exists",
            "--set=serviceAccount.annotations.example\\.org/role=operator",
            "--set=podAnnotations.example\\.org/a=b",
            "--set=podLabels.team=platform",
            "--set=extraEnv[0].name=HTTPS_PROXY",
            "--set=extraEnv[0].value=http://proxy.example:3128",
            "--set=metrics.service.type=NodePort",
            "--set=metrics.serviceMonitor.enabled=true",
        ],
    ],
    ids=["defaults", "namespace-mode", "every-option"],
)
def test_rendered_objects_pass_the_api_servers_validation(
    helm_cli: kubetools.Tool,
    control_plane: ControlPlane,
    tmp_path_factory: pytest.TempPathFactory,
    peer_logs: Path,
    args: list[str],
) -> None:
    """`kubectl apply --server-side --dry-run=server`: the API server validates every object against its
    schemas (and the CRD against apiextensions' rules) without storing anything. The ServiceMonitor's kind is
    not served here (no prometheus-operator CRDs offline): it is checked to be rendered, not sent."""
    try:
        kubectl = kubetools.kubectl(
            workdir=tmp_path_factory.mktemp("kubectl"),
            log=peer_logs / "kubectl.log",
            kubeconfig=control_plane.admin_kubeconfig,
        )
    except pins.PeerMissingError as exc:
        peer_unavailable(str(exc))
    release_ns = f"chart-{uuid.uuid4().hex[:8]}"
    watched = f"watched-{uuid.uuid4().hex[:8]}"
    for ns in (release_ns, watched):
        kubectl.run("create", "namespace", ns)
    try:
        objects = template(helm_cli, *[a.replace("{NS}", "{" + watched + "}") for a in args], namespace=release_ns)
        sendable = [o for o in objects if o["kind"] != "ServiceMonitor"]
        if any("serviceMonitor.enabled=true" in a for a in args):
            assert len(sendable) == len(objects) - 1
        manifest = tmp_path_factory.mktemp("rendered") / "chart.yaml"
        manifest.write_text(yaml.safe_dump_all(sendable))
        out = kubectl.run(
            "apply",
            "--server-side",
            "--force-conflicts",
            "--dry-run=server",
            "--field-manager=chart-test",
            "-f",
            str(manifest),
        )
        applied = [line for line in out.stdout.splitlines() if "(server dry run)" in line]
        assert len(applied) == len(sendable), out.stdout
    finally:
        for ns in (release_ns, watched):
            kubectl.run("delete", "namespace", ns, "--wait=false", check=False)
