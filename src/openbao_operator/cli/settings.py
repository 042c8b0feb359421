"""Operator settings from the environment (prefix ``OPENBAO_OPERATOR_``), validated as the models are.

Why environment variables: a Deployment sets them (and the downward API fills the identity and the
operator's namespace); the same names work for the demo and the tests. Every setting has a default that
is right for a single in-cluster replica pair.

Why not pydantic-settings: importing pydantic is about a third of the process' start → /readyz (issue 20),
and the values here are a handful of scalars. Plain values (``8``, ``true``, ``2.5``, ``json``) are taken as
they are; anything else (a value out of range, ``1e3``, `` on``) is handed to a pydantic model of the same
fields, loaded only then, so what is accepted, what it becomes and the error that names a bad setting are
pydantic's, as they were with pydantic-settings (env names matched regardless of case, keyword arguments over
the environment, unknown keywords ignored).
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
from collections.abc import Mapping
from typing import Any, Literal, get_args, get_origin, get_type_hints

PREFIX = "openbao_operator_"


class InvalidSettingsError(ValueError):
    """A setting pydantic refused; the message is its ValidationError's (it names the setting)."""


def _pod_namespace() -> str:
    return os.environ.get("POD_NAMESPACE", "openbao-operator-system")


def _pod_name() -> str:
    return os.environ.get("POD_NAME") or socket.gethostname()


@dataclasses.dataclass(init=False)
class OperatorSettings:
    """``openbao-operator run`` configuration: ``OperatorSettings(**overrides)`` reads the environment."""

    kubeconfig: str | None = None
    """Kubeconfig file; unset: in-cluster ServiceAccount, else $KUBECONFIG, else ~/.kube/config."""
    watch_namespace: str = ""
    """Comma-separated namespaces to watch (namespace mode: a RoleBinding per namespace is the opt-in);
    empty: cluster-wide (namespaces opt in with an OpenBaoTenant)."""
    namespace: str = dataclasses.field(default_factory=_pod_namespace)
    """The operator's own namespace (Lease, NetworkPolicy ingress rule for the operator)."""
    service_account: str = "openbao-operator"
    """The operator's own ServiceAccount (in ``namespace``): the subject of the RoleBinding with which an
    OpenBaoTenant onboards a namespace (cluster-wide mode)."""
    cluster_domain: str = "cluster.local"
    lease_name: str = "openbao-operator"
    lease_namespace: str | None = None
    """Default: the operator's namespace."""
    identity: str = dataclasses.field(default_factory=_pod_name)
    """This replica's name in the Lease and in Events (the pod name, from the downward API)."""
    leader_election: bool = True
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    workers: int = dataclasses.field(default=16, metadata={"ge": 1, "le": 64})
    """Clusters reconciled at once. A reconcile mostly waits on the API server, so many are cheap."""
    probe_address: str = "0.0.0.0:8080"
    """host:port serving /healthz, /readyz and /metrics."""
    log_format: Literal["json", "console"] = "json"
    log_level: str = "INFO"
    cache_sync_timeout: float = dataclasses.field(default=120.0, metadata={"gt": 0})
    """Seconds the caches may take to sync; then /healthz fails and a leader gives up the lease and exits."""
    resync_seconds: float = dataclasses.field(default=600.0, metadata={"gt": 0})
    """Each cluster is reconciled at least this often (costs no write when nothing changed)."""
    api_server_cidr: str | None = None
    """The API server's address for the pods' NetworkPolicy; detected when unset."""
    executor_image: str = ""
    """The image of the backup and restore executor Jobs (``openbao-operator backup|restore``): the operator's
    own image, which deploy/operator.yaml and the chart set. Unset: a backup or restore needs
    ``spec.backup.image`` / ``OpenBaoRestore.spec.image``."""

    def __init__(self, **overrides: Any) -> None:
        """The environment's ``OPENBAO_OPERATOR_<FIELD>`` values, then ``overrides``, then the defaults.

        Raises :class:`InvalidSettingsError` naming the first bad setting."""
        for name, value in _settle(_raw(os.environ, overrides)).items():
            setattr(self, name, value)

    def namespaces(self) -> list[str]:
        """Watched namespaces; empty means cluster-wide."""
        return [ns.strip() for ns in self.watch_namespace.split(",") if ns.strip()]

    def probe_host_port(self) -> tuple[str, int]:
        host, _, port = self.probe_address.rpartition(":")
        return host or "0.0.0.0", int(port)  # noqa: S104 - probes must be reachable by the kubelet


FIELDS = {f.name: f for f in dataclasses.fields(OperatorSettings)}
HINTS = get_type_hints(OperatorSettings)


def _raw(environ: Mapping[str, str], overrides: Mapping[str, Any]) -> dict[str, Any]:
    # NB: as pydantic-settings (case_sensitive=False): names compared in lower case, the last spelling wins
    env = {k.lower(): v for k, v in environ.items()}
    out: dict[str, Any] = {}
    for name, spec in FIELDS.items():
        if name in overrides:
            out[name] = overrides[name]
        elif PREFIX + name in env:
            out[name] = env[PREFIX + name]
        elif spec.default_factory is not dataclasses.MISSING:
            out[name] = spec.default_factory()
        else:
            out[name] = spec.default
    return out


_DIGITS = re.compile(r"0|[1-9][0-9]{0,8}")
_DECIMAL = re.compile(r"(0|[1-9][0-9]{0,8})(\.[0-9]{1,9})?")
_BOOLS = {"true": True, "True": True, "1": True, "false": False, "False": False, "0": False}


_NO = object()
"""Not a plain value: pydantic decides."""


def _plain(hint: Any, value: Any) -> Any:
    """``value`` as pydantic would make it of a plain input, else ``_NO``."""
    kind = type(value)
    if hint is str:
        return value if kind is str else _NO
    if hint == str | None:
        return value if value is None or kind is str else _NO
    if hint is bool:
        return value if kind is bool else _BOOLS.get(value, _NO) if kind is str else _NO
    if hint is int:
        return value if kind is int else int(value) if kind is str and _DIGITS.fullmatch(value) else _NO
    if hint is float:
        if kind in (int, float):
            return float(value)
        return float(value) if kind is str and _DECIMAL.fullmatch(value) else _NO
    if get_origin(hint) is Literal:
        return value if kind is str and value in get_args(hint) else _NO
    return _NO


def _within(value: Any, bounds: Mapping[str, Any]) -> bool:
    return (
        ("ge" not in bounds or value >= bounds["ge"])
        and ("le" not in bounds or value <= bounds["le"])
        and ("gt" not in bounds or value > bounds["gt"])
    )


def _settle(raw: dict[str, Any]) -> dict[str, Any]:
    """Plain values as they are; if any is not plain (or out of bounds), pydantic validates them all."""
    out = {}
    for name, spec in FIELDS.items():
        value = _plain(HINTS[name], raw[name])
        if value is _NO or not _within(value, spec.metadata):
            return _validated(raw)
        out[name] = value
    return out


def _validated(raw: dict[str, Any]) -> dict[str, Any]:
    """What pydantic makes of the values, or the error it gives (loaded only for a value out of the ordinary)."""
    from typing import Annotated

    import pydantic

    fields: Any = {
        name: (Annotated[HINTS[name], pydantic.Field(**spec.metadata)], ...) for name, spec in FIELDS.items()
    }
    model = pydantic.create_model("OperatorSettings", **fields)
    try:
        return dict(model.model_validate(raw).__dict__)
    except pydantic.ValidationError as exc:
        raise InvalidSettingsError(str(exc)) from exc
