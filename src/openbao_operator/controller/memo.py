"""What a pass would otherwise recompute from unchanged inputs: the parsed spec and the rendered objects.

Why: a cluster is looked at far more often than it changes (every event of any of its children, every
resync, every check of a waiting pod). Validating the spec into the model and rendering config.hcl and every
object are pure functions of the cluster object and the render facts; this remembers their last results:

- the model, per cluster uid, for the resourceVersion it was parsed from (any change of the object,
  metadata included, is a new resourceVersion and a new parse; a spec that does not parse is never kept);
- the rendered :class:`DesiredState` per set of :class:`RenderFacts` (a pass renders with two or three:
  the trial render before the security material is known, the final one, and during a key rotation the
  one with the next key), for that model only.

Only results are kept, never a decision: every pass still compares them with what it observes. The models
are frozen and nothing in a pass edits a rendered object in place (the applier and the StatefulSet plan copy
what they change), so sharing them between passes is safe. Bounded: ``limit`` clusters, least recently used
dropped first, and a few render facts per cluster; a restart starts empty.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from openbao_operator.api import OpenBaoCluster, parse_cluster
from openbao_operator.kube import Manifest
from openbao_operator.render.desired import DesiredState, render_desired
from openbao_operator.render.facts import RenderFacts

RENDERS_PER_CLUSTER = 4


@dataclass
class _Entry:
    resource_version: str
    cluster: OpenBaoCluster
    renders: OrderedDict[RenderFacts, DesiredState] = field(default_factory=OrderedDict)


class Memo:
    """Per process: the last parse and renders of each cluster (see the module docstring)."""

    def __init__(self, *, limit: int = 65536) -> None:
        self._limit = limit
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self.parses = 0
        self.renders = 0
        """Parses and renders actually done (the rest were remembered)."""

    def parse(self, raw: Manifest) -> OpenBaoCluster:
        """``parse_cluster(raw)``, remembered for the object's uid and resourceVersion."""
        meta = raw.get("metadata") or {}
        uid, version = str(meta.get("uid") or ""), str(meta.get("resourceVersion") or "")
        entry = self._entries.get(uid) if uid and version else None
        if entry is not None and entry.resource_version == version:
            self._entries.move_to_end(uid)
            return entry.cluster
        self.parses += 1
        cluster = parse_cluster(raw)  # NB: raises for an invalid spec, and nothing is kept for it
        if uid and version:
            self._entries[uid] = _Entry(version, cluster)
            self._entries.move_to_end(uid)
            while len(self._entries) > self._limit:
                self._entries.popitem(last=False)
        return cluster

    def render(self, uid: str, cluster: OpenBaoCluster, *, facts: RenderFacts) -> DesiredState:
        """``render_desired(cluster, facts=facts)``, remembered when ``cluster`` is the model :meth:`parse`
        returned for ``uid``. Raises what the render raises (nothing is kept then)."""
        entry = self._entries.get(uid)
        if entry is None or entry.cluster is not cluster:
            self.renders += 1
            return render_desired(cluster, facts=facts)
        try:
            desired = entry.renders.get(facts)
        except TypeError:  # a fact that cannot be hashed: render, remember nothing
            self.renders += 1
            return render_desired(cluster, facts=facts)
        if desired is None:
            self.renders += 1
            desired = render_desired(cluster, facts=facts)
            entry.renders[facts] = desired
            while len(entry.renders) > RENDERS_PER_CLUSTER:
                entry.renders.popitem(last=False)
        else:
            entry.renders.move_to_end(facts)
        return desired

    def forget(self, uid: str) -> None:
        self._entries.pop(uid, None)
