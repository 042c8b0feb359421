"""How deeply a spec may nest, checked twice: by the models and by a ValidatingAdmissionPolicy.

Why a bound at all: ``spec.backup``, ``spec.restore``, ``spec.selfInit.requests[].data``, ``spec.upgrade``
and the audit ``options`` values preserve unknown fields, and the API server stores JSON nested up to 10,000
levels there, while Python's decoders stop near 1,000. The operator survives such an object (kube/decode.py
sets it apart), but nothing legitimate nests that deep: the typed schema reaches 10 levels under ``spec``.

Why a ValidatingAdmissionPolicy and not a CRD rule: CRD validation rules (CEL) cannot see inside
``x-kubernetes-preserve-unknown-fields`` data (the API server hands it to CEL as an opaque value that only
supports equality), so no ``x-kubernetes-validations`` rule can measure its depth. An admission policy sees
the request's object as plain JSON. The rule counts levels of the whole ``spec``, so it still holds when
those subtrees get real schemas (a typed subtree is bounded by its schema anyway).

The policy applies to creates and to updates that change the spec: an object stored before the policy
existed can still have its finalizer removed or be deleted.
"""

from __future__ import annotations

from typing import Any

from .cluster import GROUP, PLURAL
from .names import OPERATOR_LABELS

MAX_SPEC_DEPTH = 32
"""Levels of objects and arrays under ``spec``, ``spec`` itself being level 1."""

DEPTH_MESSAGE = (
    f"nested more than {MAX_SPEC_DEPTH} levels below spec (free-form fields such as spec.selfInit.requests[].data "
    "and audit options included)"
)
POLICY_NAME = f"{PLURAL}.{GROUP}-nesting"

_PATH_PARTS = 8
_KEY_LIMIT = 40


def _path(parts: list[str | int]) -> str:
    shown = parts[:_PATH_PARTS]
    out = ""
    for part in shown:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            key = part if len(part) <= _KEY_LIMIT else part[: _KEY_LIMIT - 3] + "..."
            out += f".{key}" if out else key
    return out + ("..." if len(parts) > _PATH_PARTS else "")


def too_deep(value: Any, *, limit: int = MAX_SPEC_DEPTH) -> str | None:
    """The path (relative to ``value``, shortened) of the first object or array below level ``limit``.

    ``value`` itself is level 1 when it is an object or array. Iterative, so any depth is measured safely.
    """
    stack: list[tuple[Any, int, list[str | int]]] = [(value, 1, [])]
    while stack:
        node, level, parts = stack.pop()
        if isinstance(node, dict):
            children: list[tuple[str | int, Any]] = [(str(k), v) for k, v in node.items()]
        elif isinstance(node, list):
            children = list(enumerate(node))
        else:
            continue
        if level > limit:
            return _path(parts)
        for key, child in reversed(children):
            if isinstance(child, dict | list):
                stack.append((child, level + 1, [*parts, key]))
    return None


def depth_cel(var: str, *, limit: int = MAX_SPEC_DEPTH) -> str:
    """CEL that is true when ``var`` has at most ``limit`` levels of objects and arrays (itself included).

    Each level lists the children (a map's values, a list's items, nothing for a scalar) and requires the
    next level's rule of all of them: the expression grows linearly with ``limit``, and evaluation stops at
    level ``limit`` whatever the object's real depth.
    """
    expr = f"!(type(v{limit}) == map || type(v{limit}) == list)"
    for level in range(limit, 0, -1):
        x = var if level == 1 else f"v{level - 1}"
        children = f"(type({x}) == map ? {x}.map(k{level}, {x}[k{level}]) : type({x}) == list ? {x} : [])"
        expr = f"{children}.all(v{level}, {expr})"
    return expr


def admission_policy() -> list[dict[str, Any]]:
    """The ValidatingAdmissionPolicy and its binding (deploy/admission-policy.yaml is generated from these)."""
    labels = dict(OPERATOR_LABELS)
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": POLICY_NAME, "labels": labels},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [GROUP],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": [PLURAL],
                    }
                ]
            },
            "matchConditions": [
                {
                    # NB: an update that leaves the spec alone (finalizer removal, labels) is never refused,
                    # so an object stored before this policy existed can still be cleaned up.
                    "name": "spec-written",
                    "expression": "request.operation == 'CREATE' || !has(oldObject.spec) || "
                    "!has(object.spec) || object.spec != oldObject.spec",
                }
            ],
            "validations": [
                {
                    "expression": f"!has(object.spec) || {depth_cel('object.spec')}",
                    "message": f"spec: {DEPTH_MESSAGE}",
                    "reason": "Invalid",
                }
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": POLICY_NAME, "labels": labels},
        "spec": {"policyName": POLICY_NAME, "validationActions": ["Deny"]},
    }
    return [policy, binding]
