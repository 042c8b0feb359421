"""What the reconcile reads from a live StatefulSet, in one place: replica counts, revisions, deletion.

Why a view: the live StatefulSet is a plain dict from the API server; reading ``spec.replicas`` or
``status.updateRevision`` by hand in every step repeats the same defensive digging (a missing ``spec``, a
count that is not an int) and lets the steps disagree about what a missing value means. Here a missing or
malformed count is 0 and a missing revision is None, for every reader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openbao_operator.api import names
from openbao_operator.kube import Manifest
from openbao_operator.render.workload.statefulset import CONTAINER_NAME


@dataclass(frozen=True)
class StatefulSetView:
    """A live StatefulSet (``manifest``), or none (``manifest`` None: every count 0)."""

    manifest: Manifest | None = field(repr=False)

    @classmethod
    def of(cls, sts: Manifest | None) -> StatefulSetView:
        return cls(sts)

    @property
    def exists(self) -> bool:
        return self.manifest is not None

    def _part(self, name: str) -> Mapping[str, Any]:
        part = (self.manifest or {}).get(name)
        return part if isinstance(part, Mapping) else {}

    @property
    def replicas(self) -> int:
        """``spec.replicas``: the pods the StatefulSet keeps."""
        return _count(self._part("spec").get("replicas"))

    @property
    def deleting(self) -> bool:
        return bool(self._part("metadata").get("deletionTimestamp"))

    @property
    def update_revision(self) -> str | None:
        value = self._part("status").get("updateRevision")
        return str(value) if value else None

    @property
    def observed(self) -> bool:
        """The StatefulSet controller has seen the latest spec (its revisions and counts are current)."""
        meta, status = self._part("metadata"), self._part("status")
        generation, seen = meta.get("generation"), status.get("observedGeneration")
        return isinstance(generation, int) and isinstance(seen, int) and seen >= generation

    @property
    def version(self) -> str | None:
        """The OpenBao version the operator rendered the pod template for (``openbao.org/version``)."""
        value = (self._part("metadata").get("annotations") or {}).get(names.ANNOTATION_VERSION)
        return str(value) if value else None

    @property
    def image(self) -> str | None:
        """The OpenBao container's image in the pod template (a tag, or the verified digest that was applied)."""
        template = self._part("spec").get("template") or {}
        for c in (template.get("spec") or {}).get("containers") or ():
            if c.get("name") == CONTAINER_NAME:
                return str(c.get("image") or "") or None
        return None

    @property
    def status_replicas(self) -> int:
        """``status.replicas``: the pods that exist."""
        return _count(self._part("status").get("replicas"))

    @property
    def ready_replicas(self) -> int:
        return _count(self._part("status").get("readyReplicas"))

    @property
    def updated_replicas(self) -> int:
        """Pods on ``updateRevision``."""
        return _count(self._part("status").get("updatedReplicas"))


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
