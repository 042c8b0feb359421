"""`render_desired`: the whole desired state of one cluster, config.hcl and every object, in one pure call.

This is the single place that composes the config renderer and the workload renderer, so the ConfigMap
always carries exactly the text whose restart hash is on the pod template, and the self-init Secret exactly
the `initialize` blocks the pods read beside it. The controller applies
`objects` in order (server-side apply, Gateway API kinds as optional) and deletes owned objects that are
no longer in `objects`. The static unseal key Secret is created by the seal package, never from here
(see `render.workload.unseal`); the seal plan's current/previous key come in as facts. Objects the operator
makes at runtime are listed by `render.runtime`, not rendered.
"""

from __future__ import annotations

from dataclasses import dataclass

from openbao_operator.api import OpenBaoCluster
from openbao_operator.render.config import RenderedConfig, render_config
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload import Manifest, unseal_key_shape, workload_objects


@dataclass(frozen=True)
class DesiredState:
    """What one cluster should look like; `objects` are in apply order."""

    config: RenderedConfig
    """config.hcl, the self-init file and the restart hash (the pod template's openbao.org/config-hash)."""
    objects: tuple[Manifest, ...]
    """Every server-side-applied object, in apply order."""
    unseal_key_shape: Manifest | None
    """The static unseal key Secret the seal package will create, without its data, or None. Never printed
    (applied as is, it would stand in the key's place for ever; see `render.runtime`); tests compare it with
    what the seal package creates."""

    @property
    def config_hash(self) -> str:
        return self.config.restart_hash

    def documents(self) -> list[Manifest]:
        """What `openbao-operator render` prints: the applied objects, each applicable as it is."""
        return list(self.objects)


def render_desired(cluster: OpenBaoCluster, *, facts: RenderFacts) -> DesiredState:
    """Render the cluster; raises `ConfigRenderError` (naming the spec field) when it cannot be rendered."""
    config = render_config(cluster, facts=facts)
    objects = workload_objects(
        cluster,
        facts,
        config_text=config.text,
        config_hash=config.restart_hash,
        self_init_text=config.self_init_text,
    )
    return DesiredState(config=config, objects=tuple(objects), unseal_key_shape=unseal_key_shape(cluster, facts))
