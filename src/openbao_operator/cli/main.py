"""The `openbao-operator` command: `crd`, `render` and `run`.

Thin on purpose: each command parses its input, calls one function of a lower layer and prints the
result. Invalid input exits with status 2 and one line that names the field.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import click
import yaml

from openbao_operator import __version__
from openbao_operator.api import InvalidClusterError, OpenBaoCluster, parse_cluster
from openbao_operator.api.crd import crds as build_crds
from openbao_operator.api.ignored import ignored_fields
from openbao_operator.api.yamlio import dump_all, load_all
from openbao_operator.render.config import ConfigRenderError, render_config
from openbao_operator.render.desired import render_desired
from openbao_operator.render.facts import RenderFacts

EXIT_INVALID = 2


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_INVALID)


def read_clusters(path: str) -> list[OpenBaoCluster]:
    """Every OpenBaoCluster in a YAML file ('-' is standard input); other kinds are ignored."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or exc}")
    try:
        documents = load_all(text)
    except yaml.YAMLError as exc:
        _fail(f"{path}: not valid YAML: {' '.join(str(exc).split())}")
    candidates = [d for d in documents if not isinstance(d, dict) or d.get("kind") == "OpenBaoCluster"]
    if not candidates:
        _fail(f"{path}: no OpenBaoCluster document found")
    clusters = []
    for index, document in enumerate(candidates):
        try:
            clusters.append(parse_cluster(document))
        except InvalidClusterError as exc:
            where = f"{path}" if len(candidates) == 1 else f"{path} (document {index + 1})"
            _fail(f"{where}: {exc.summary()}")
    return clusters


@click.group()
@click.version_option(__version__, prog_name="openbao-operator")
def main() -> None:
    """A Kubernetes operator for OpenBao: renders and converges OpenBaoCluster resources."""


@main.command()
def crd() -> None:
    """Print the CustomResourceDefinitions (OpenBaoCluster, OpenBaoTenant) as YAML."""
    click.echo(dump_all(build_crds()), nl=False)


@main.command()
@click.option("-f", "--filename", "path", required=True, help="Manifest with an OpenBaoCluster ('-' for stdin).")
@click.option("--config-hcl", is_flag=True, help="Print only the rendered config.hcl.")
@click.option("--defaults", is_flag=True, help="Print only the validated cluster with every default filled in.")
@click.option(
    "--namespace", default=None, help="Namespace when the manifest has none in metadata.namespace (default: default)."
)
@click.option(
    "--initialized",
    is_flag=True,
    help="Render as after initialization (all replicas); by default as at bootstrap (one replica).",
)
@click.option(
    "--api-server-cidr", default=None, help="The API server's address as a CIDR, for the NetworkPolicy egress rule."
)
def render(
    path: str, config_hcl: bool, defaults: bool, namespace: str | None, initialized: bool, api_server_cidr: str | None
) -> None:
    """Print what the operator would converge for a cluster, without a Kubernetes cluster.

    Every object, as multi-document YAML in apply order (the unseal key Secret first, without its data:
    the key is created in the cluster only). With --config-hcl: the config.hcl of each cluster.
    """
    clusters = read_clusters(path)
    for cluster in clusters:
        for field in ignored_fields(cluster.spec):
            click.echo(f"warning: {cluster.metadata.name}: {field}", err=True)
    if defaults:
        click.echo(dump_all(c.to_json() for c in clusters), nl=False)
        return
    texts: list[str] = []
    documents: list[dict[str, Any]] = []
    for cluster in clusters:
        facts = RenderFacts(
            namespace=cluster.metadata.namespace or namespace or "default",
            initialized=initialized,
            api_server_cidr=api_server_cidr,
        )
        try:
            if config_hcl:
                texts.append(render_config(cluster, facts=facts).text)
            else:
                documents += render_desired(cluster, facts=facts).documents()
        except ConfigRenderError as exc:
            _fail(f"{path}: {exc.field}: {exc.reason}")
    click.echo("\n".join(texts) if config_hcl else dump_all(documents), nl=False)


@main.command()
def run() -> None:
    """Run the operator against the current kubeconfig or the in-cluster configuration.

    Settings come from environment variables prefixed OPENBAO_OPERATOR_ (see cli/settings.py), e.g.
    OPENBAO_OPERATOR_WATCH_NAMESPACE, OPENBAO_OPERATOR_KUBECONFIG, OPENBAO_OPERATOR_PROBE_ADDRESS.
    Exits 0 on SIGTERM/SIGINT and 1 when leadership is lost (the replica restarts as a standby).
    """
    import asyncio

    from pydantic import ValidationError

    from openbao_operator.runtime import LeadershipLost

    from .operator import run_operator
    from .settings import OperatorSettings

    try:
        settings = OperatorSettings()
    except ValidationError as exc:
        _fail(f"invalid settings: {' '.join(str(exc).split())}")
    try:
        asyncio.run(run_operator(settings))
    except LeadershipLost:
        click.echo("error: leadership lost; exiting so that this replica restarts as a standby", err=True)
        sys.exit(1)
