"""``render_config``: config.hcl of a cluster, its self-init file, and the hash of what needs a restart.

Two files, because OpenBao reads several ``-config`` files and appends the ``initialize`` stanzas of all of
them (proven against bao 2.7.2 in tests/integration/test_config_boot.py):
- config.hcl (the ConfigMap ``<name>-config``), fixed order so equal specs give equal bytes: top-level
  options; ``listener "tcp"``; ``plugin "kms"`` (KMS-plugin seals only); ``seal``; ``storage "raft"``;
  ``service_registration``; ``audit`` devices; ``plugin`` blocks; ``telemetry``.
- the ``initialize`` blocks (the Secret ``<name>-config-init``), only with self-init. A request's data is
  often a secret (a userpass password, an OIDC client secret), and a ConfigMap is readable by anyone who
  may read ConfigMaps; so no request ever reaches config.hcl.

The restart hash is the hash of config.hcl, so it covers everything except the ``initialize`` blocks.
Why: a running ``bao`` can only take a new config by restarting here (pods run ``bao`` as PID 1 with no
shell or sidecar, so nobody can send it SIGHUP), so any change of config.hcl needs a rolling restart, except
``initialize``, which OpenBao runs once, on a cluster that is not initialized yet, and ignores ever after:
restarting a cluster for it would only disrupt it (and no digest of the Secret's content is published in
an annotation). Certificate rotation is not in the file at all (the paths never change); from OpenBao 2.7
``tls_auto_reload`` picks new certificates up, older versions need the certificate fingerprint in the pod
template (the workload renderer's job, RenderFacts.tls_cert_sha256).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from openbao_operator.api import OpenBaoCluster
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.hcl import HclValueError, Item, emit

from .audit import audit
from .context import Context
from .errors import ConfigRenderError
from .listener import listener
from .plugins import plugins
from .seal import seal
from .selfinit import self_init
from .storage import service_registration, storage
from .telemetry import telemetry
from .top import top_level


@dataclass(frozen=True, slots=True)
class RenderedConfig:
    """config.hcl, the self-init file, and the hash the pod template carries (``openbao.org/config-hash``)."""

    text: str
    """config.hcl, byte for byte what OpenBao reads; never an ``initialize`` block."""
    self_init_text: str
    """The ``initialize`` blocks, byte for byte what OpenBao reads from the self-init Secret ("" without
    self-init)."""
    restart_hash: str
    """sha256 hex of config.hcl: it changes exactly when pods must restart."""


def config_items(cluster: OpenBaoCluster, *, facts: RenderFacts) -> tuple[list[Item], list[Item]]:
    """The two files as HCL items: (config.hcl, the initialize blocks of the self-init file)."""
    ctx = Context.of(cluster, facts)
    body: list[Item] = [
        *top_level(ctx),
        listener(ctx),
        *seal(ctx),
        storage(ctx),
        service_registration(ctx),
        *audit(ctx),
        *plugins(ctx),
        *telemetry(ctx),
    ]
    return body, list(self_init(ctx))


def render_config(cluster: OpenBaoCluster, *, facts: RenderFacts) -> RenderedConfig:
    """Render config.hcl for ``cluster``; raise :class:`ConfigRenderError` naming the field if it cannot be.

    Pure: the output depends only on the arguments.
    """
    body, init = config_items(cluster, facts=facts)
    try:
        text = emit(body)
        self_init_text = emit(init)
    except HclValueError as exc:  # the API's string rules make this unreachable; name what slipped through
        raise ConfigRenderError("spec", f"cannot be written as HCL: {exc}") from None
    return RenderedConfig(
        text=text, self_init_text=self_init_text, restart_hash=hashlib.sha256(text.encode()).hexdigest()
    )
