"""Parse a manifest (already decoded from YAML or JSON) into a model of the API, or say what is wrong."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import ValidationError

from .base import ApiModel
from .cluster import API_VERSION, KIND, OpenBaoCluster
from .depth import DEPTH_MESSAGE, too_deep
from .errors import FieldError, InvalidClusterError, brief, field_errors

M = TypeVar("M", bound=ApiModel)


def parse_as(document: Any, model: type[M], *, kind: str) -> M:
    """Validate one manifest of ``kind``; raise InvalidClusterError with every field error otherwise."""
    if not isinstance(document, dict):
        raise InvalidClusterError([FieldError("", "the manifest must be a YAML or JSON object")])
    if document.get("kind") != kind or document.get("apiVersion") != API_VERSION:
        raise InvalidClusterError(
            [
                FieldError(
                    "kind",
                    f"expected apiVersion {API_VERSION} and kind {kind}, got "
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
        return model.model_validate(document)
    except ValidationError as exc:
        raise InvalidClusterError(field_errors(exc)) from None


def parse_cluster(document: Any) -> OpenBaoCluster:
    """Validate one OpenBaoCluster manifest; raise InvalidClusterError with every field error otherwise."""
    return parse_as(document, OpenBaoCluster, kind=KIND)
