"""What a pass would otherwise recompute from unchanged inputs: the parsed spec and the rendered objects.

Why: a cluster is looked at far more often than it changes (every event of any of its children, every
resync, every check of a waiting pod). Validating the spec into the model and rendering config.hcl and every
object are pure functions of the cluster object and the render facts; this remembers their last results:

- the model, per cluster uid, for the resourceVersion it was parsed from (any change of the object,
  metadata included, is a new resourceVersion and a new parse; a spec that does not parse is never kept);
- the rendered :class:`DesiredState` per cluster and set of :class:`RenderFacts` (a pass renders with two or
  three: the trial render before the security material is known, the final one, and during a key rotation
  the one with the next key), for that very model only. A render holds every object uncompressed (about
  32 KiB), so only the most recent ``render_limit`` renders are kept: they serve the bursts of passes a
  cluster gets while it changes (an event per object created, per pod started), not the resync of a
  thousand idle clusters, which would cost tens of MiB to keep. Models are kept for the ``limit`` most
  recently passed clusters for the same reason (3-4 KiB each: a parse costs about 1 % of a pass, so keeping
  every cluster's would buy little for its memory at a thousand clusters).

- that a render succeeded, without its objects, per cluster, resourceVersion and facts: the validation step's
  trial render asks only whether the spec renders, for every cluster on every pass, and a thousand such
  answers cost less than one kept render (a failed render is never kept: it is done again).

Only results are kept, never a decision: every pass still compares them with what it observes. The models
are frozen and nothing in a pass edits a rendered object in place (the applier and the StatefulSet plan copy
what they change), so sharing them between passes is safe. Least recently used dropped first; a restart
starts empty.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from openbao_operator.api import OpenBaoCluster, parse_cluster
from openbao_operator.kube import Manifest
from openbao_operator.render.desired import DesiredState, render_desired
from openbao_operator.render.facts import RenderFacts


@dataclass
class _Entry:
    resource_version: str
    cluster: OpenBaoCluster


class Memo:
    """Per process: the last parse and renders of each cluster (see the module docstring)."""

    def __init__(self, *, limit: int = 256, render_limit: int = 32, renders_ok_limit: int = 4096) -> None:
        self._limit = limit
        self._render_limit = render_limit
        self._renders_ok_limit = renders_ok_limit
        self._renders_ok: OrderedDict[tuple[str, str, RenderFacts], None] = OrderedDict()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._rendered: OrderedDict[tuple[str, RenderFacts], tuple[OpenBaoCluster, DesiredState]] = OrderedDict()
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
        """``render_desired(cluster, facts=facts)``, remembered for this very model of cluster ``uid`` and these
        facts. Raises what the render raises (nothing is kept then)."""
        key = (uid, facts)
        try:
            hit = self._rendered.get(key)
        except TypeError:  # a fact that cannot be hashed: render, remember nothing
            self.renders += 1
            return render_desired(cluster, facts=facts)
        if hit is not None and hit[0] is cluster:
            self._rendered.move_to_end(key)
            return hit[1]
        self.renders += 1
        desired = render_desired(cluster, facts=facts)
        self._rendered[key] = (cluster, desired)
        self._rendered.move_to_end(key)
        while len(self._rendered) > self._render_limit:
            self._rendered.popitem(last=False)
        return desired

    def check_render(self, uid: str, version: str, cluster: OpenBaoCluster, *, facts: RenderFacts) -> None:
        """Raise what ``render_desired(cluster, facts=facts)`` raises, else nothing; a success is remembered
        for cluster ``uid`` at resourceVersion ``version`` (the object ``cluster`` was parsed from) and these
        facts, without the objects."""
        key = (uid, version, facts)
        try:
            if uid and version and key in self._renders_ok:
                self._renders_ok.move_to_end(key)
                return
        except TypeError:  # a fact that cannot be hashed: render, remember nothing
            self.renders += 1
            render_desired(cluster, facts=facts)
            return
        hit = self._rendered.get((uid, facts))
        if hit is None or hit[0] is not cluster:
            self.renders += 1
            render_desired(cluster, facts=facts)  # NB: raises for a spec that does not render; nothing kept
        if uid and version:
            self._renders_ok[key] = None
            while len(self._renders_ok) > self._renders_ok_limit:
                self._renders_ok.popitem(last=False)

    def forget(self, uid: str) -> None:
        self._entries.pop(uid, None)
        for key in [k for k in self._rendered if k[0] == uid]:
            del self._rendered[key]
        for ok in [k for k in self._renders_ok if k[0] == uid]:
            del self._renders_ok[ok]
