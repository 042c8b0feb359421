"""`render_desired`: the whole desired state of one cluster, config.hcl and every object, in one pure call.

This is the single place that composes the config renderer and the workload renderer, so the ConfigMap
always carries exactly the text whose restart hash is on the pod template, and the self-init Secret exactly
the `initialize` blocks the pods read beside it. The controller applies `objects` stage by stage
(:data:`APPLY_STAGES`; server-side apply, Gateway API kinds as optional) and deletes owned objects that are no
longer in `objects`. The static unseal key Secret is created by the seal package, never from here
(see `render.workload.unseal`); the seal plan's current/previous key come in as facts. Objects the operator
makes at runtime are listed by `render.runtime`, not rendered.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from openbao_operator.api import OpenBaoCluster
from openbao_operator.render.config import RenderedConfig, render_config
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload import Manifest, is_optional_kind, unseal_key_shape, workload_objects


class Stage(enum.IntEnum):
    """When an object is applied; the stages run in this order, the objects of one stage concurrently."""

    PREREQUISITES = 0
    """Identity, config, Services, policies: everything a pod needs to start."""
    WORKLOAD = 1
    """The StatefulSet, and the pods' RoleBinding to the pre-installed ClusterRole openbao-server, which they
    need only once running (service registration, auto_join)."""
    OPTIONAL = 2
    """The Gateway API kinds, whose CRDs may be missing: their absence must not hold anything else back."""


APPLY_STAGES: dict[tuple[str, str], Stage] = {
    ("apps/v1", "StatefulSet"): Stage.WORKLOAD,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): Stage.WORKLOAD,
}
"""The apply order, the one place it is stated: (apiVersion, kind) → stage; Gateway API kinds are OPTIONAL,
every other kind a PREREQUISITE."""


def stage_of(obj: Manifest) -> Stage:
    if is_optional_kind(obj):
        return Stage.OPTIONAL
    return APPLY_STAGES.get((str(obj.get("apiVersion")), str(obj.get("kind"))), Stage.PREREQUISITES)


@dataclass(frozen=True)
class DesiredState:
    """What one cluster should look like; `objects` in a stable order, applied by stage (:meth:`stages`)."""

    config: RenderedConfig
    """config.hcl, the self-init file and the restart hash (the pod template's openbao.org/config-hash)."""
    objects: tuple[Manifest, ...]
    """Every server-side-applied object (what `render` prints, in this order)."""
    unseal_key_shape: Manifest | None
    """The static unseal key Secret the seal package will create, without its data, or None. Never printed
    (applied as is, it would stand in the key's place for ever; see `render.runtime`); tests compare it with
    what the seal package creates."""

    @property
    def config_hash(self) -> str:
        return self.config.restart_hash

    def stages(self) -> list[tuple[Stage, tuple[Manifest, ...]]]:
        """The objects by apply stage (:data:`APPLY_STAGES`), stages in order, each in the order of ``objects``."""
        return [(stage, tuple(o for o in self.objects if stage_of(o) is stage)) for stage in Stage]

    @property
    def statefulset(self) -> Manifest | None:
        """The OpenBao StatefulSet among ``objects`` (None only for a render without one)."""
        return next((o for o in self.objects if o["kind"] == "StatefulSet" and o["apiVersion"] == "apps/v1"), None)

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
