"""``render_config``: the whole config.hcl of a cluster, and the hash of what needs a restart.

Layout (fixed order, so equal specs give equal bytes): top-level options; ``listener "tcp"``;
``plugin "kms"`` (KMS-plugin seals only); ``seal``; ``storage "raft"``; ``service_registration``;
``audit`` devices; ``plugin`` blocks; ``telemetry``; ``initialize`` blocks.

The restart hash covers everything except the ``initialize`` blocks. Why: a running ``bao`` can only take
a new config by restarting here (pods run ``bao`` as PID 1 with no shell or sidecar, so nobody can send it
SIGHUP), so any change of the file needs a rolling restart, except ``initialize``, which OpenBao runs once,
on a cluster that is not initialized yet, and ignores ever after: restarting a cluster for it would only
disrupt it. Certificate rotation is not in the file at all (the paths never change); from OpenBao 2.7
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
    """config.hcl and the hash the pod template carries (``openbao.org/config-hash``)."""

    text: str
    """The whole file, byte for byte what OpenBao reads."""
    restart_hash: str
    """sha256 hex of the file without its ``initialize`` blocks: it changes exactly when pods must restart."""


def config_items(cluster: OpenBaoCluster, *, facts: RenderFacts) -> tuple[list[Item], list[Item]]:
    """The file as HCL items: (everything that needs a restart when it changes, the initialize blocks)."""
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
        restartable = emit(body)
        # Every initialize item is a block, and a block line ends any alignment run, so the two emitted
        # halves concatenate to exactly emit(body + init) (a property test checks this).
        text = restartable + emit(init)
    except HclValueError as exc:  # the API's string rules make this unreachable; name what slipped through
        raise ConfigRenderError("spec", f"cannot be written as HCL: {exc}") from None
    return RenderedConfig(text=text, restart_hash=hashlib.sha256(restartable.encode()).hexdigest())
