"""Parse a manifest (already decoded from YAML or JSON) into an OpenBaoCluster, or say what is wrong."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from .cluster import API_VERSION, KIND, OpenBaoCluster
from .depth import DEPTH_MESSAGE, too_deep
from .errors import FieldError, InvalidClusterError, brief, field_errors


def parse_cluster(document: Any) -> OpenBaoCluster:
    """Validate one manifest; raise InvalidClusterError with every field error otherwise."""
    if not isinstance(document, dict):
        raise InvalidClusterError([FieldError("", "the manifest must be a YAML or JSON object")])
    if document.get("kind") != KIND or document.get("apiVersion") != API_VERSION:
        raise InvalidClusterError(
            [
                FieldError(
                    "kind",
                    f"expected apiVersion {API_VERSION} and kind {KIND}, got "
                    f"{brief(document.get('apiVersion'))} / {brief(document.get('kind'))}",
                )
            ]
        )
    spec = document.get("spec")
    deep = too_deep(spec) if isinstance(spec, dict) else None
    if deep is not None:
        # NB: before the models: nothing recursive may walk a spec nested arbitrarily deep.
        raise InvalidClusterError([FieldError(f"spec.{deep}" if deep else "spec", DEPTH_MESSAGE)])
    try:
        return OpenBaoCluster.model_validate(document)
    except ValidationError as exc:
        raise InvalidClusterError(field_errors(exc)) from None
