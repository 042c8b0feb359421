"""The `openbao-operator` command: `crd`, `render` and `run`.

Thin on purpose: each command parses its input, calls one function of a lower layer and prints the
result. Invalid input exits with status 2 and one line that names the field.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from openbao_operator.api import OpenBaoCluster
    from openbao_operator.render.config import RenderedConfig
    from openbao_operator.render.facts import OperatorIdentity, RenderFacts
    from openbao_operator.render.runtime import RuntimeObject

# NB: the models, the renderer and YAML are imported by the commands that use them: `run` needs none of them
# before its caches have synced, and they would add about half a second to its start → /readyz (issue 20).

EXIT_INVALID = 2


def _fail(message: str) -> NoReturn:
    # NB: bounded here too, whatever a lower layer put into its message (the input may be megabytes)
    click.echo(f"error: {_one_line(message, 360)}", err=True)
    sys.exit(EXIT_INVALID)


def _exit_now(code: int) -> NoReturn:
    """End an executor run without interpreter finalization.

    Why: obstore's native runtime keeps threads of its own; tearing the interpreter down under them aborted the
    process now and then (SIGABRT, "Fatal Python error: Aborted", in 2 of 20 runs of a failed restore), which
    would turn a finished Job's exit code into a crash. The report is already printed; flush it and leave.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _identity(jwks_path: str, issuer: str) -> OperatorIdentity:
    """The selfInit.oidc facts the operator would read from the API server, from a saved JWKS."""
    import json

    from openbao_operator.pki.jwks import JwkError, jwks_to_pems
    from openbao_operator.render.facts import OperatorIdentity

    try:
        jwks = json.loads(Path(jwks_path).read_text())
        return OperatorIdentity(issuer=issuer, pubkeys_pem=jwks_to_pems(jwks))
    except (OSError, ValueError, JwkError) as exc:
        _fail(f"--service-account-jwks {jwks_path}: {exc}")


def read_clusters(path: str) -> list[OpenBaoCluster]:
    """Every OpenBaoCluster in a YAML file ('-' is standard input); other kinds are ignored."""
    import yaml

    from openbao_operator.api import InvalidClusterError, parse_cluster
    from openbao_operator.api.yamlio import ManifestYamlError, load_all

    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or exc}")
    try:
        documents = load_all(text)
    except (yaml.YAMLError, ManifestYamlError) as exc:
        _fail(f"{path}: not valid YAML: {_one_line(str(exc))}")
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


def _config_files(cluster: OpenBaoCluster, rendered: RenderedConfig) -> str:
    """config.hcl, then the self-init file after a comment naming it: one text that means what bao reads."""
    from openbao_operator.api.names import SELF_INIT_FILE, self_init_secret_name

    if not rendered.self_init_text:
        return rendered.text
    where = f"{SELF_INIT_FILE}, from the Secret {self_init_secret_name(cluster)}"
    return f"{rendered.text}# {where}\n{rendered.self_init_text}"


def _made_at_runtime(cluster: OpenBaoCluster, facts: RenderFacts) -> list[RuntimeObject]:
    """Key, certificate and token objects the operator makes itself: named, never printed (see render.runtime)."""
    # NB: imported here: the controller package is not needed by `crd` or by an invalid manifest
    from openbao_operator.controller.bootstrap import root_token_secret_name
    from openbao_operator.render.runtime import RuntimeObject, runtime_objects

    found = runtime_objects(cluster, facts)
    if cluster.spec.self_init is None or not cluster.spec.self_init.enabled:
        what = "the root token and recovery key, stored at initialization because self-init is off"
        found.append(RuntimeObject("Secret", root_token_secret_name(cluster), what))
    return found


@click.group()
@click.version_option(package_name="openbao-operator", prog_name="openbao-operator")  # read when asked
def main() -> None:
    """A Kubernetes operator for OpenBao: renders and converges OpenBaoCluster resources."""


@main.command()
def crd() -> None:
    """Print the CustomResourceDefinitions (OpenBaoCluster, OpenBaoTenant, OpenBaoRestore) as YAML."""
    from openbao_operator.api.crd import crds as build_crds
    from openbao_operator.api.yamlio import dump_all

    click.echo(dump_all(build_crds()), nl=False)


@main.command("admission-policy")
def admission_policy() -> None:
    """Print the ValidatingAdmissionPolicy (and binding) that bounds how deeply a spec nests, as YAML."""
    from openbao_operator.api.depth import admission_policy as build_admission_policy
    from openbao_operator.api.yamlio import dump_all

    click.echo(dump_all(build_admission_policy()), nl=False)


@main.command()
@click.option("-f", "--filename", "path", required=True, help="Manifest with an OpenBaoCluster ('-' for stdin).")
@click.option(
    "--config-hcl", is_flag=True, help="Print only the rendered config.hcl (and the self-init file after it)."
)
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
@click.option(
    "--service-account-jwks",
    "jwks_path",
    default=None,
    help="For selfInit.oidc: the API server's JWKS (`kubectl get --raw /openid/v1/jwks > jwks.json`).",
)
@click.option(
    "--service-account-issuer",
    default="https://kubernetes.default.svc.cluster.local",
    show_default=True,
    help="For selfInit.oidc: the issuer of the cluster's ServiceAccount tokens.",
)
def render(
    path: str,
    config_hcl: bool,
    defaults: bool,
    namespace: str | None,
    initialized: bool,
    api_server_cidr: str | None,
    jwks_path: str | None,
    service_account_issuer: str,
) -> None:
    """Print what the operator would converge for a cluster, without a Kubernetes cluster.

    Every object the operator applies from the spec, as multi-document YAML in apply order, each one
    applicable as it is. Objects the operator makes itself at runtime (the unseal key, certificates, the
    root token) are named on stderr, never printed: create none of them by hand. With --config-hcl: the
    config.hcl of each cluster (and its self-init file).
    """
    from openbao_operator.api.cluster import NAMESPACE_MESSAGE
    from openbao_operator.api.errors import brief
    from openbao_operator.api.ignored import ignored_fields
    from openbao_operator.api.types import DNS_LABEL_REGEX
    from openbao_operator.api.yamlio import dump_all
    from openbao_operator.render.config import ConfigRenderError, render_config
    from openbao_operator.render.desired import render_desired
    from openbao_operator.render.facts import RenderFacts
    from openbao_operator.render.warnings import security_warnings

    if namespace is not None and (len(namespace) > 63 or re.fullmatch(DNS_LABEL_REGEX, namespace) is None):
        _fail(f"--namespace: {NAMESPACE_MESSAGE} (got {brief(namespace)})")
    clusters = read_clusters(path)
    for cluster in clusters:
        for field in ignored_fields(cluster.spec):
            click.echo(f"warning: {cluster.metadata.name}: {field}", err=True)
        for warning in security_warnings(cluster):
            click.echo(f"warning: {cluster.metadata.name}: {warning}", err=True)
    if defaults:
        click.echo(dump_all(c.to_json() for c in clusters), nl=False)
        return
    texts: list[str] = []
    documents: list[dict[str, Any]] = []
    identity = _identity(jwks_path, service_account_issuer) if jwks_path else None
    for cluster in clusters:
        facts = RenderFacts(
            namespace=cluster.metadata.namespace or namespace or "default",
            initialized=initialized,
            api_server_cidr=api_server_cidr,
            operator_identity=identity,
        )
        try:
            if config_hcl:
                texts.append(_config_files(cluster, render_config(cluster, facts=facts)))
            else:
                documents += render_desired(cluster, facts=facts).documents()
                for obj in _made_at_runtime(cluster, facts):
                    click.echo(f"note: {cluster.metadata.name}: created by the operator, not printed: {obj}", err=True)
        except ConfigRenderError as exc:
            # NB: the hint goes before the reason, which the bounded error line may cut
            hint = " (give --service-account-jwks)" if exc.field.startswith("spec.selfInit.oidc") else ""
            _fail(f"{path}: {exc.field}{hint}: {exc.reason}")
    click.echo("\n".join(texts) if config_hcl else dump_all(documents), nl=False)


@main.command()
@click.option(
    "--config", "config_path", default=None, help="Executor configuration (JSON); default: $OPENBAO_EXECUTOR_CONFIG."
)
def backup(config_path: str | None) -> None:
    """Executor: stream one raft snapshot from the active node into object storage, then apply retention.

    Runs inside a backup Job (docs/backup-restore.md). Prints one JSON line with the outcome; exits 0 when the
    snapshot and its metadata are stored, 1 on failure, 2 on an unusable configuration.
    """
    from openbao_operator.executor.program import main as run_executor

    _exit_now(run_executor("backup", config_path=config_path))


@main.command()
@click.option(
    "--config", "config_path", default=None, help="Executor configuration (JSON); default: $OPENBAO_EXECUTOR_CONFIG."
)
@click.option("--key", required=True, help="Key of the snapshot object in the bucket.")
@click.option(
    "--force", is_flag=True, help="Use snapshot-force: the snapshot comes from a cluster with another seal key."
)
def restore(config_path: str | None, key: str, force: bool) -> None:
    """Executor: verify a snapshot against its metadata (SHA-256, size), then restore it into the cluster.

    Nothing is sent to OpenBao unless the whole object matches its recorded checksum. Prints one JSON line with
    the outcome; exits 0 when restored, 1 on failure, 2 on an unusable configuration.
    """
    from openbao_operator.executor.program import main as run_executor

    _exit_now(run_executor("restore", config_path=config_path, key=key, force=force))


@main.command()
def run() -> None:
    """Run the operator against the current kubeconfig or the in-cluster configuration.

    Settings come from environment variables prefixed OPENBAO_OPERATOR_ (see cli/settings.py), e.g.
    OPENBAO_OPERATOR_WATCH_NAMESPACE, OPENBAO_OPERATOR_KUBECONFIG, OPENBAO_OPERATOR_PROBE_ADDRESS.
    Exits 0 on SIGTERM/SIGINT and 1 when leadership is lost or the caches do not sync in time (the replica
    restarts as a standby; the lease is released first).
    """
    import asyncio

    from openbao_operator.runtime import CacheSyncTimeout, LeadershipLost

    from .operator import run_operator
    from .settings import InvalidSettingsError, OperatorSettings

    try:
        settings = OperatorSettings()
    except InvalidSettingsError as exc:
        _fail(f"invalid settings: {' '.join(str(exc).split())}")
    try:
        asyncio.run(run_operator(settings))
    except LeadershipLost:
        click.echo("error: leadership lost; exiting so that this replica restarts as a standby", err=True)
        sys.exit(1)
    except CacheSyncTimeout as exc:
        click.echo(f"error: {_one_line(str(exc))}; lease released, exiting so that a standby takes over", err=True)
        sys.exit(1)
