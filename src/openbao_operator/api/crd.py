"""Generate the CustomResourceDefinitions (OpenBaoCluster, OpenBaoTenant, OpenBaoRestore) from the pydantic models.

The models are the single source: field names, descriptions (attribute docstrings), defaults, enums,
patterns and the CEL rules of `ApiModel.rules` all come from them. pydantic's JSON schema is turned
into a Kubernetes structural schema: references inlined, `X | None` collapsed to `X` (optional means
"not required", not "nullable"), free-form JSON marked `x-kubernetes-preserve-unknown-fields`,
`int | str` marked `x-kubernetes-int-or-string`, and titles dropped.
"""

from __future__ import annotations

import copy
from typing import Any

from .base import ApiModel
from .cluster import GROUP, KIND, MAX_NAME_LENGTH, PLURAL, VERSION, OpenBaoClusterSpec
from .names import OPERATOR_LABELS
from .restore import RESTORE_KIND, RESTORE_PLURAL, OpenBaoRestoreSpec, OpenBaoRestoreStatus
from .status import OpenBaoClusterStatus
from .tenant import TENANT_KIND, TENANT_PLURAL, OpenBaoTenantSpec, OpenBaoTenantStatus
from .types import DNS_LABEL_REGEX

JsonSchema = dict[str, Any]


def _validations(model: type[ApiModel]) -> list[JsonSchema]:
    out = []
    for rule in model.rules:
        entry: JsonSchema = {"rule": rule.cel, "message": rule.message}
        if rule.field:
            entry["fieldPath"] = rule.field_path
        out.append(entry)
    return out


def _models(root: type[ApiModel]) -> dict[str, type[ApiModel]]:
    """Every ApiModel reachable from root, by class name (pydantic's default $defs key)."""
    found: dict[str, type[ApiModel]] = {}

    def visit(tp: Any) -> None:
        if isinstance(tp, type) and issubclass(tp, ApiModel):
            if tp.__name__ in found:
                return
            found[tp.__name__] = tp
            for field in tp.model_fields.values():
                visit(field.annotation)
        for arg in getattr(tp, "__args__", ()) or ():
            visit(arg)
        for meta in getattr(tp, "__metadata__", ()) or ():
            visit(meta)
        origin = getattr(tp, "__origin__", None)
        if origin is not None and origin is not tp:
            visit(origin)

    visit(root)
    return found


class _Converter:
    def __init__(self, defs: dict[str, JsonSchema], models: dict[str, type[ApiModel]]) -> None:
        self.defs = defs
        self.models = models

    def convert(self, node: JsonSchema) -> JsonSchema:
        node = dict(node)
        description = node.pop("description", None)
        if "$ref" in node:
            name = node.pop("$ref").rsplit("/", 1)[-1]
            target = self.convert(self.defs[name])
            if name in self.models:
                rules = _validations(self.models[name])
                if rules:
                    target["x-kubernetes-validations"] = rules
            if description:
                target["description"] = description
            node.pop("default", None) if node.get("default") is None else None
            if "default" in node:
                target["default"] = node["default"]
            return target
        result = self._convert_inner(node)
        if description:
            result["description"] = " ".join(description.split())
        return result

    def _convert_inner(self, node: JsonSchema) -> JsonSchema:
        node.pop("title", None)
        node.pop("x-message", None)
        if "default" in node and node["default"] is None:
            del node["default"]
        if "anyOf" in node:
            options = [o for o in node.pop("anyOf") if o.get("type") != "null"]
            types = {o.get("type") for o in options}
            if len(options) == 1:
                merged = self.convert(options[0])
                if "default" in node:
                    merged["default"] = node["default"]
                for key in ("x-kubernetes-list-type", "x-kubernetes-list-map-keys"):
                    if key in node:
                        merged[key] = node[key]
                return merged
            if types == {"integer", "string"}:
                return {"x-kubernetes-int-or-string": True, **{k: v for k, v in node.items() if k == "default"}}
            # A union of other types (such as string, number or boolean) cannot be structural: the
            # schema accepts any JSON there and the models check the value.
            return {"x-kubernetes-preserve-unknown-fields": True}
        if "const" in node:
            node["enum"] = [node.pop("const")]
        if not node or (set(node) <= {"default"} and "type" not in node):
            node["x-kubernetes-preserve-unknown-fields"] = True
            return node
        if node.get("type") == "object":
            props = node.get("properties")
            extra = node.pop("additionalProperties", None)
            # pydantic writes `dict[Key, Value]` with a constrained key as patternProperties, which
            # structural schemas do not allow. Values go to additionalProperties. Keys are checked by the
            # models only: a CEL `self.all(k, k.matches(...))` over map keys exceeds the API server's cost
            # budget (key length cannot be bounded in a structural schema), so admission leaves key syntax
            # to the API server's validation of the objects the keys end up in (pod labels, selectors).
            pattern_props = node.pop("patternProperties", None)
            node.pop("propertyNames", None)
            if pattern_props:
                ((_, extra),) = pattern_props.items()
            if props is not None:
                node["properties"] = {k: self.convert(v) for k, v in props.items()}
                if extra is True:
                    node["x-kubernetes-preserve-unknown-fields"] = True
            elif isinstance(extra, dict) and extra:
                node["additionalProperties"] = self.convert(extra)
            else:
                node["x-kubernetes-preserve-unknown-fields"] = True
            if not node.get("required"):
                node.pop("required", None)
        elif node.get("type") == "array" and "items" in node:
            node["items"] = self.convert(node["items"])
        return node


def object_schema(model: type[ApiModel]) -> JsonSchema:
    """The structural OpenAPI v3 schema of one model, with its nested rules."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.pop("$defs", {})
    converter = _Converter(defs, _models(model))
    schema = converter.convert(raw)
    rules = _validations(model)
    if rules:
        schema["x-kubernetes-validations"] = rules
    return schema


def _definition(
    *,
    kind: str,
    plural: str,
    short_names: list[str],
    description: str,
    spec: JsonSchema,
    status: JsonSchema,
    columns: list[JsonSchema],
    validations: list[JsonSchema] | None = None,
) -> JsonSchema:
    """One namespaced CustomResourceDefinition of the group, version v1alpha1, with a status subresource."""
    root: JsonSchema = {
        "description": description,
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string", "description": "openbao.org/v1alpha1."},
            "kind": {"type": "string", "description": f"{kind}."},
            "metadata": {"type": "object"},
            "spec": spec,
            "status": status,
        },
    }
    if validations:
        root["x-kubernetes-validations"] = validations
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{GROUP}",
            "labels": dict(OPERATOR_LABELS),
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": short_names,
                "categories": ["openbao"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {"openAPIV3Schema": copy.deepcopy(root)},
                }
            ],
        },
    }


def crd() -> JsonSchema:
    """The CustomResourceDefinition of OpenBaoCluster, ready to dump as YAML."""
    spec = object_schema(OpenBaoClusterSpec)
    spec["description"] = "The desired OpenBao cluster."
    status = object_schema(OpenBaoClusterStatus)
    status["description"] = "Observed state of the cluster, written by the operator."
    return _definition(
        kind=KIND,
        plural=PLURAL,
        short_names=["bao", "baoc"],
        description="An OpenBao cluster managed by the OpenBao operator: config.hcl, a StatefulSet and "
        "everything around it, rendered from this spec and kept converged.",
        spec=spec,
        status=status,
        columns=[
            {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
            {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
            {"name": "Ready", "type": "integer", "jsonPath": ".status.readyReplicas"},
            {"name": "Version", "type": "string", "jsonPath": ".spec.version"},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        ],
        validations=[
            {
                "rule": f"self.metadata.name.size() <= {MAX_NAME_LENGTH}",
                "message": f"metadata.name must be at most {MAX_NAME_LENGTH} characters (it prefixes the "
                "names and labels of the cluster's objects)",
            },
            {
                "rule": f"self.metadata.name.matches('{DNS_LABEL_REGEX}')",
                "message": "metadata.name must be a DNS label: lower-case letters, digits and '-'",
            },
        ],
    )


def tenant_crd() -> JsonSchema:
    """The CustomResourceDefinition of OpenBaoTenant (the reference operator's names, columns and fields)."""
    spec = object_schema(OpenBaoTenantSpec)
    spec["description"] = "Which namespace the operator may manage OpenBaoClusters in."
    # NB: a transition rule (oldSelf), so it lives in the CRD only: a changed target would leave the old
    # namespace's RoleBinding behind, since nothing records which namespace was onboarded before.
    spec["properties"]["targetNamespace"]["x-kubernetes-validations"] = [
        {
            "rule": "self == oldSelf",
            "message": "spec.targetNamespace is immutable: create another OpenBaoTenant and delete this one",
        }
    ]
    status = object_schema(OpenBaoTenantStatus)
    status["description"] = "What the operator did with the request."
    return _definition(
        kind=TENANT_KIND,
        plural=TENANT_PLURAL,
        short_names=["obt"],
        description="A namespace's opt-in to the OpenBao operator: the operator binds itself to the "
        "openbao-operator-tenant ClusterRole in spec.targetNamespace, and writes nowhere else.",
        spec=spec,
        status=status,
        columns=[
            {"name": "Target Namespace", "type": "string", "jsonPath": ".spec.targetNamespace"},
            {"name": "Provisioned", "type": "boolean", "jsonPath": ".status.provisioned"},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        ],
    )


def restore_crd() -> JsonSchema:
    """The CustomResourceDefinition of OpenBaoRestore (the reference operator's kind, same fields)."""
    spec = object_schema(OpenBaoRestoreSpec)
    spec["description"] = "The restore request; immutable after creation."
    # A restore is a request that is carried out once: changing it afterwards would make its status lie.
    spec.setdefault("x-kubernetes-validations", []).append(
        {"rule": "self == oldSelf", "message": "spec is immutable: create a new OpenBaoRestore instead"}
    )
    status = object_schema(OpenBaoRestoreStatus)
    status["description"] = "Observed state of the restore, written by the operator."
    return _definition(
        kind=RESTORE_KIND,
        plural=RESTORE_PLURAL,
        short_names=["obrestore"],
        description="A request to restore an OpenBaoCluster from a raft snapshot in object storage. It "
        "overwrites every secret of the target cluster with the snapshot's.",
        spec=spec,
        status=status,
        columns=[
            {"name": "Cluster", "type": "string", "jsonPath": ".spec.cluster"},
            {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
            {"name": "Message", "type": "string", "jsonPath": ".status.message", "priority": 1},
        ],
    )


def crds() -> list[JsonSchema]:
    """Every CustomResourceDefinition of the operator, in the order deploy/crd.yaml holds them."""
    return [crd(), tenant_crd(), restore_crd()]
