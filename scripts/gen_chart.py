"""Generate the Helm chart's parts that deploy/ (kustomize) already states, so the two cannot disagree.

    uv run python scripts/gen_chart.py          # rewrite the generated files
    uv run python scripts/gen_chart.py --check  # exit 1 and name the files that differ (the unit test does this)

deploy/ is the single source of the operator's permissions: whoever changes the RBAC there (least-privilege
work, new kinds) reruns this script and the chart follows. Generated here:

- ``charts/openbao-operator/crds/<file>``: every CRD file of deploy/kustomization.yaml, byte for byte;
- ``charts/openbao-operator/templates/generated.yaml``: every other object of deploy/ that is not the
  operator's own workload (Namespace, ServiceAccount, Deployment and the metrics Service are templates of
  their own, proven equal to deploy/ by tests/integration/test_chart.py), with the operator's namespace
  replaced by the release namespace, its ServiceAccount by the chart's (as a subject, and as the name a
  rule on ``serviceaccounts`` is restricted to), and ``WATCHED_NAMESPACE`` of
  deploy/namespace-mode/ by each entry of ``watchNamespaces``. deploy/rbac-cluster.yaml renders only when
  ``watchNamespaces`` is empty, deploy/namespace-mode/rbac.yaml only when it is not (the two modes the
  kustomization describes); everything only with ``rbac.create``;
- the version: Chart.yaml's ``version``/``appVersion`` and the image tag in deploy/operator.yaml are the
  ``[project] version`` of pyproject.toml, the one place it is set.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
OPERATOR_NAMESPACE = "openbao-operator-system"
SERVICE_ACCOUNT = "openbao-operator"
WATCHED = "WATCHED_NAMESPACE"
CLUSTER_MODE_FILE = "rbac-cluster.yaml"
NAMESPACE_MODE_FILE = "namespace-mode/rbac.yaml"
#: Kinds the chart writes as templates of its own (values decide their shape).
OWN_TEMPLATES = {"Namespace", "ServiceAccount", "Deployment", "Service"}
IMAGE_LINE = re.compile(r"^(\s+(?:image|value): ghcr\.io/openbao-operator/openbao-operator:)\S+$", re.MULTILINE)

NS_EXPR = "{{ $.Release.Namespace }}"
SA_EXPR = '{{ include "openbao-operator.serviceAccountName" $ }}'
WATCHED_EXPR = "{{ $ns }}"


def project_version(root: Path = ROOT) -> str:
    with (root / "pyproject.toml").open("rb") as fh:
        return str(tomllib.load(fh)["project"]["version"])


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]


def kustomize_resources(deploy: Path) -> list[Path]:
    kustomization = yaml.safe_load((deploy / "kustomization.yaml").read_text())
    return [deploy / str(r) for r in kustomization.get("resources") or []]


def _substitute(value: Any, *, in_subject: bool = False) -> Any:
    """The operator's namespace, ServiceAccount and the watched-namespace placeholder as template expressions."""
    if isinstance(value, dict):
        out = {k: _substitute(v, in_subject=in_subject) for k, v in value.items()}
        if in_subject and value.get("kind") == "ServiceAccount" and value.get("name") == SERVICE_ACCOUNT:
            out["name"] = SA_EXPR
        if _names_own_serviceaccount(value):
            out["resourceNames"] = [SA_EXPR]
        return out
    if isinstance(value, list):
        return [_substitute(v, in_subject=in_subject) for v in value]
    if value == OPERATOR_NAMESPACE:
        return NS_EXPR
    if value == WATCHED:
        return WATCHED_EXPR
    return value


def _names_own_serviceaccount(rule: dict[str, Any]) -> bool:
    """A rule on the operator's own ServiceAccount by name (requesting its token): the chart's name it is."""
    resources = rule.get("resources") or []
    return rule.get("resourceNames") == [SERVICE_ACCOUNT] and any(
        str(r).startswith("serviceaccounts") for r in resources
    )


def render_object(doc: dict[str, Any], *, source: str) -> str:
    """One object as template text: its own metadata plus the chart's labels, the rest as in deploy/."""
    meta = dict(doc["metadata"])
    unknown = set(meta) - {"name", "namespace", "labels", "annotations"}
    if unknown:
        raise SystemExit(f"{source}: {doc['kind']} {meta['name']}: metadata {sorted(unknown)} not supported here")
    lines = [f"# from deploy/{source}", f"apiVersion: {doc['apiVersion']}", f"kind: {doc['kind']}", "metadata:"]
    lines.append(f"  name: {json.dumps(_substitute(meta['name']))}")
    if "namespace" in meta:
        lines.append(f"  namespace: {json.dumps(_substitute(meta['namespace']))}")
    lines.append("  labels:")
    for key, value in (meta.get("labels") or {}).items():
        lines.append(f"    {key}: {json.dumps(value)}")
    lines.append('    {{- include "openbao-operator.labels" $ | nindent 4 }}')
    if meta.get("annotations"):
        lines.append("  annotations:")
        for key, value in meta["annotations"].items():
            lines.append(f"    {key}: {json.dumps(value)}")
    rest = {k: v for k, v in doc.items() if k not in ("apiVersion", "kind", "metadata")}
    if "subjects" in rest:
        rest["subjects"] = _substitute(rest["subjects"], in_subject=True)
    rest = {k: (v if k == "subjects" else _substitute(v)) for k, v in rest.items()}
    if rest:
        lines.append(yaml.safe_dump(rest, sort_keys=False, width=10_000, default_flow_style=False).rstrip())
    return "---\n" + "\n".join(lines) + "\n"


def generated_templates(deploy: Path, resources: list[Path]) -> str:
    always: list[str] = []
    cluster_mode: list[str] = []
    for path in resources:
        source = path.relative_to(deploy).as_posix()
        for doc in documents(path):
            if doc["kind"] == "CustomResourceDefinition" or doc["kind"] in OWN_TEMPLATES:
                continue
            (cluster_mode if source == CLUSTER_MODE_FILE else always).append(render_object(doc, source=source))
    ns_cluster: list[str] = []
    ns_each: list[str] = []
    for doc in documents(deploy / NAMESPACE_MODE_FILE):
        text = render_object(doc, source=NAMESPACE_MODE_FILE)
        (ns_each if doc["metadata"].get("namespace") == WATCHED else ns_cluster).append(text)
    parts = [
        "{{- /* GENERATED by scripts/gen_chart.py from deploy/ (kustomize). Do not edit: change deploy/ and run\n"
        "     `uv run python scripts/gen_chart.py`; tests/unit/test_chart_generated.py fails on drift. */}}\n",
        "{{- if .Values.rbac.create }}\n",
        *always,
        "{{- if not .Values.watchNamespaces }}\n",
        *cluster_mode,
        "{{- else }}\n",
        *ns_cluster,
        "{{- range $ns := .Values.watchNamespaces }}\n",
        *ns_each,
        "{{- end }}\n",
        "{{- end }}\n",
        "{{- end }}\n",
    ]
    return "".join(parts)


def generate(*, root: Path = ROOT) -> dict[Path, str]:
    """Every generated file (path -> content) of the checkout at ``root``."""
    deploy, chart_dir = root / "deploy", root / "charts" / "openbao-operator"
    version = project_version(root)
    resources = kustomize_resources(deploy)
    out: dict[Path, str] = {}
    for path in resources:
        docs = documents(path)
        crds = [d for d in docs if d["kind"] == "CustomResourceDefinition"]
        if crds and len(crds) != len(docs):
            raise SystemExit(f"{path}: keep CRDs in files of their own (the chart ships them from crds/)")
        if crds:
            out[chart_dir / "crds" / path.name] = path.read_text()
    out[chart_dir / "templates" / "generated.yaml"] = generated_templates(deploy, resources)
    chart = (chart_dir / "Chart.yaml").read_text()
    chart = re.sub(r"^version: .*$", f"version: {version}", chart, flags=re.MULTILINE)
    chart = re.sub(r"^appVersion: .*$", f'appVersion: "{version}"', chart, flags=re.MULTILINE)
    out[chart_dir / "Chart.yaml"] = chart
    operator = (deploy / "operator.yaml").read_text()
    if not IMAGE_LINE.search(operator):
        raise SystemExit("deploy/operator.yaml: the operator image line was not found")
    out[deploy / "operator.yaml"] = IMAGE_LINE.sub(lambda m: m.group(1) + version, operator)
    return out


def stale(*, root: Path = ROOT) -> list[Path]:
    """Generated files whose committed content differs from what would be generated now."""
    return [p for p, text in generate(root=root).items() if not p.is_file() or p.read_text() != text]


def write(*, root: Path = ROOT) -> list[Path]:
    """Write every stale generated file; returns those written."""
    written = []
    for path, text in generate(root=root).items():
        if not path.is_file() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a file is stale")
    args = parser.parse_args(argv)
    if args.check:
        bad = stale()
        for path in bad:
            print(f"stale: {path.relative_to(ROOT)} (run: uv run python scripts/gen_chart.py)")
        return 1 if bad else 0
    for path in write():
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
