"""Properties of the workload render over many valid clusters (hypothesis, capped examples).

- Deterministic: the same input renders the same objects, byte for byte.
- Schema-true: every core object survives lightkube's typed models unchanged (a misspelt or misplaced
  field would be dropped by `from_dict` and show up as a difference).
- The pod template meets Pod Security Standards "restricted" with a read-only root filesystem.
- No secret value of the spec appears in a ConfigMap, an annotation, a label or an env literal.
- The config-hash annotation follows the config hash and nothing else.
- Every pod address OpenBao advertises for joining is a name the headless Service provides.
- Selectors agree: the StatefulSet, Services, PDB and NetworkPolicy select exactly the pods rendered.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from lightkube.core.resource import Resource
from lightkube.resources.apps_v1 import StatefulSet
from lightkube.resources.core_v1 import ConfigMap, Secret, Service, ServiceAccount
from lightkube.resources.networking_v1 import Ingress, NetworkPolicy
from lightkube.resources.policy_v1 import PodDisruptionBudget
from lightkube.resources.rbac_authorization_v1 import Role, RoleBinding

from openbao_operator.api import names
from openbao_operator.api.yamlio import dump_all
from openbao_operator.render.workload import unseal_key_shape, workload_objects
from openbao_operator.seal import UnsealKey, key_secret_manifest

from .cases import SELF_INIT_TEXT
from .pss import restricted_violations
from .strategies import Drawn, drawn_clusters

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HASH_A = "a" * 64
HASH_B = "b" * 64

TYPED: dict[str, type[Resource]] = {
    "StatefulSet": StatefulSet,
    "ConfigMap": ConfigMap,
    "Secret": Secret,
    "Service": Service,
    "ServiceAccount": ServiceAccount,
    "Ingress": Ingress,
    "NetworkPolicy": NetworkPolicy,
    "PodDisruptionBudget": PodDisruptionBudget,
    "Role": Role,
    "RoleBinding": RoleBinding,
}
GATEWAY_KINDS = {"HTTPRoute", "TLSRoute", "BackendTLSPolicy"}


def render(d: Drawn, *, config_hash: str = HASH_A, config_text: str = "ui = true\n") -> list[dict[str, Any]]:
    return workload_objects(
        d.cluster, d.facts, config_text=config_text, config_hash=config_hash, self_init_text=SELF_INIT_TEXT
    )


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def the(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = by_kind(objects, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


@PROPERTY
@given(drawn_clusters())
def test_deterministic(d: Drawn) -> None:
    first, second = render(d), render(d)
    assert first == second
    assert dump_all(first) == dump_all(second)


@PROPERTY
@given(drawn_clusters())
def test_every_object_round_trips_through_typed_models(d: Drawn) -> None:
    objects = render(d)
    shape = unseal_key_shape(d.cluster, d.facts)
    if shape is not None:
        objects.append(shape)
    for obj in objects:
        if obj["kind"] in GATEWAY_KINDS:
            assert obj["apiVersion"].startswith("gateway.networking.k8s.io/")
            continue
        model = TYPED[obj["kind"]]
        assert model.from_dict(copy.deepcopy(obj)).to_dict() == obj, obj["kind"]  # type: ignore[attr-defined]


@PROPERTY
@given(drawn_clusters())
def test_pod_template_is_pss_restricted(d: Drawn) -> None:
    template = the(render(d), "StatefulSet")["spec"]["template"]
    assert restricted_violations(template["spec"]) == []
    assert template["spec"]["automountServiceAccountToken"] is False
    assert "initContainers" not in template["spec"]


@PROPERTY
@given(drawn_clusters())
def test_no_secret_value_in_configmaps_annotations_labels_or_env(d: Drawn) -> None:
    objects = render(d)
    exposed: list[str] = []
    for obj in objects:
        meta = obj["metadata"]
        exposed += strings(meta.get("annotations", {}))
        exposed += strings(meta.get("labels", {}))
        if obj["kind"] == "ConfigMap":
            exposed += strings(obj["data"])
        if obj["kind"] == "StatefulSet":
            template = obj["spec"]["template"]
            exposed += strings(template["metadata"])
            for container in template["spec"]["containers"]:
                exposed += [e["value"] for e in container.get("env", []) if "value" in e]
                exposed += strings(container.get("args", []))
                exposed += strings(container.get("command", []))
    for secret in d.secrets:
        assert not any(secret in text for text in exposed), secret


@PROPERTY
@given(drawn_clusters())
def test_config_hash_annotation_follows_the_config_hash_only(d: Drawn) -> None:
    a, b = the(render(d, config_hash=HASH_A), "StatefulSet"), the(render(d, config_hash=HASH_B), "StatefulSet")
    assert a["spec"]["template"]["metadata"]["annotations"][names.ANNOTATION_CONFIG_HASH] == HASH_A
    assert b["spec"]["template"]["metadata"]["annotations"][names.ANNOTATION_CONFIG_HASH] == HASH_B
    b["spec"]["template"]["metadata"]["annotations"][names.ANNOTATION_CONFIG_HASH] = HASH_A
    assert a == b
    # The config text alone (same hash) does not touch the StatefulSet.
    c = the(render(d, config_text="ui = false\n"), "StatefulSet")
    assert c == a


@PROPERTY
@given(drawn_clusters())
def test_advertised_pod_addresses_are_headless_service_names(d: Drawn) -> None:
    objects = render(d)
    sts = the(objects, "StatefulSet")
    headless = next(s for s in by_kind(objects, "Service") if s["spec"].get("clusterIP") == "None")
    assert sts["spec"]["serviceName"] == headless["metadata"]["name"]
    assert headless["spec"]["publishNotReadyAddresses"] is True
    pod_labels = sts["spec"]["template"]["metadata"]["labels"]
    assert headless["spec"]["selector"].items() <= pod_labels.items()
    env = {e["name"]: e for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["BAO_K8S_POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["BAO_RAFT_NODE_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    host = re.escape(f"$(BAO_K8S_POD_NAME).{headless['metadata']['name']}.{d.facts.namespace}.svc")
    assert re.fullmatch(rf"https?://{host}:{names.API_PORT}", env["BAO_API_ADDR"]["value"])
    assert re.fullmatch(rf"https://{host}:{names.CLUSTER_PORT}", env["BAO_CLUSTER_ADDR"]["value"])
    # The pod names the StatefulSet creates are <sts>-<ordinal>, so the expanded host is a headless DNS record.
    assert sts["metadata"]["name"] == d.cluster.metadata.name


@PROPERTY
@given(drawn_clusters())
def test_selectors_match_the_rendered_pods(d: Drawn) -> None:
    objects = render(d)
    sts = the(objects, "StatefulSet")
    pod_labels = sts["spec"]["template"]["metadata"]["labels"]
    assert sts["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    for label in names.SERVICE_REGISTRATION_LABELS:
        assert label not in pod_labels
    for service in by_kind(objects, "Service"):
        selector = dict(service["spec"]["selector"])
        if service["metadata"]["name"] == names.active_service_name(d.cluster):
            assert selector.pop(names.LABEL_ACTIVE) == "true"
        assert selector.items() <= pod_labels.items()
    for pdb in by_kind(objects, "PodDisruptionBudget"):
        assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    policy = the(objects, "NetworkPolicy")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()


@PROPERTY
@given(drawn_clusters())
def test_every_object_is_labelled_namespaced_and_owned(d: Drawn) -> None:
    for obj in render(d):
        meta = obj["metadata"]
        assert meta["namespace"] == d.facts.namespace
        assert names.infra_labels(d.cluster).items() <= meta["labels"].items()
        refs = meta.get("ownerReferences")
        if d.facts.owner_uid is None:
            assert refs is None
        else:
            assert refs == [
                {
                    "apiVersion": "openbao.org/v1alpha1",
                    "kind": "OpenBaoCluster",
                    "name": d.cluster.metadata.name,
                    "uid": d.facts.owner_uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ]


@PROPERTY
@given(drawn_clusters())
def test_unseal_key_is_shown_but_never_applied_and_matches_what_the_seal_package_creates(d: Drawn) -> None:
    objects = render(d)
    assert not any(o["kind"] == "Secret" for o in objects)
    shape = unseal_key_shape(d.cluster, d.facts)
    static = d.cluster.spec.unseal is None or d.cluster.spec.unseal.type == "static"
    assert (shape is not None) == (static and d.facts.unseal_key is None)
    if shape is None:
        return
    assert "data" not in shape
    created = key_secret_manifest(
        d.cluster,
        namespace=d.facts.namespace,
        name=shape["metadata"]["name"],
        key=UnsealKey(bytes(32)),
        key_id=shape["metadata"]["annotations"]["openbao.org/unseal-key-id"],
        predecessor=None,
        owner_uid=d.facts.owner_uid,
    )
    assert {k: v for k, v in created.items() if k != "data"} == shape
    mounted = {
        v["secret"]["secretName"]
        for v in the(objects, "StatefulSet")["spec"]["template"]["spec"]["volumes"]
        if v["name"] == "unseal"
    }
    assert mounted == {shape["metadata"]["name"]}
