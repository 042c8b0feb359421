"""``listener "tcp"``: one listener on every address, TLS per spec.tls, certificate reload where supported.

Why these choices:
- ``[::]:8200`` / ``[::]:8201`` (dual stack): probes, Services and ``kubectl port-forward`` (which dials
  127.0.0.1 inside the pod) all reach it; the pod's own address is not known when the file is rendered.
- TLS off is ``tls_disable = true`` and nothing else: no certificate paths (the reference kept them).
- Mounted certificates (OperatorManaged, External): cert, key and CA from the TLS Secret mount. From
  OpenBao 2.7 ``tls_auto_reload`` re-reads them when the Secret changes, so rotation needs no restart.
- ACME: no files; the ACME options only. HTTP-01 is disabled (the ``<name>-acme`` Service routes 443 to the
  listener, so TLS-ALPN-01 is the challenge that works).
- Metrics with a ServiceMonitor: Prometheus scrapes without a token, so ``unauthenticated_metrics_access``.
"""

from __future__ import annotations

from openbao_operator.api import names
from openbao_operator.api.tls import EffectiveTlsMode
from openbao_operator.render.hcl import Attr, Block, Item

from .context import Context
from .version import TLS_AUTO_RELOAD

MAX_REQUEST_DURATION = "90s"


def acme_domains(ctx: Context) -> list[str]:
    """The ACME domains (:func:`names.acme_domains`; the operator's preflight resolves the same list)."""
    return names.acme_domains(ctx.cluster, namespace=ctx.namespace)


def _proxy_protocol(ctx: Context) -> list[Item]:
    listener = ctx.spec.configuration.listener if ctx.spec.configuration is not None else None
    if listener is None or listener.proxy_protocol_behavior is None:
        return []
    behavior = listener.proxy_protocol_behavior
    addrs = listener.proxy_protocol_authorized_addrs
    if behavior != "use_always" and addrs:
        return [Attr("proxy_protocol_behavior", behavior), Attr("proxy_protocol_authorized_addrs", list(addrs))]
    return [Attr("proxy_protocol_behavior", behavior)]


def _metrics_scrapable(ctx: Context) -> bool:
    obs = ctx.spec.observability
    metrics = obs.metrics if obs is not None else None
    if metrics is None or not metrics.enabled:
        return False
    return metrics.service_monitor is None or metrics.service_monitor.enabled


def listener(ctx: Context) -> Block:
    body: list[Item] = [
        Attr("address", f"[::]:{names.API_PORT}"),
        Attr("cluster_address", f"[::]:{names.CLUSTER_PORT}"),
        Attr("max_request_duration", MAX_REQUEST_DURATION),
        *_proxy_protocol(ctx),
    ]
    if ctx.tls is EffectiveTlsMode.DISABLED:
        body.append(Attr("tls_disable", True))
    elif ctx.tls.files:
        body += [
            Attr("tls_cert_file", names.TLS_CERT_FILE),
            Attr("tls_key_file", names.TLS_KEY_FILE),
            Attr("tls_client_ca_file", names.TLS_CA_FILE),
        ]
        if ctx.version >= TLS_AUTO_RELOAD:
            body.append(Attr("tls_auto_reload", True))
    else:
        acme = ctx.spec.tls.acme
        assert acme is not None  # the API requires spec.tls.acme for mode ACME
        body += [
            Attr("tls_acme_ca_directory", acme.directory_url),
            Attr("tls_acme_domains", acme_domains(ctx)),
        ]
        if acme.email:
            body.append(Attr("tls_acme_email", acme.email))
        body.append(Attr("tls_acme_disable_http_challenge", True))
        ca_root = ctx.spec.configuration.acme_ca_root if ctx.spec.configuration is not None else None
        if ca_root:
            body.append(Attr("tls_acme_ca_root", ca_root))
    if _metrics_scrapable(ctx):
        body.append(Block("telemetry", (), (Attr("unauthenticated_metrics_access", True),)))
    return Block("listener", ("tcp",), tuple(body))
