"""THE diff: in sync exactly when every field we send is in live with an equal value.

Live objects here are shaped like what the API server returns: defaults added, quantities canonicalised,
omitempty zero values dropped, other managers' fields present.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from openbao_operator.kube import APPLIED_HASH_ANNOTATION, applied_hash, differences, in_sync, stamped


def _sts() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "bao", "namespace": "ns", "labels": {"app": "bao"}},
        "spec": {
            "replicas": 3,
            "serviceName": "bao",
            "selector": {"matchLabels": {"app": "bao"}},
            "template": {
                "metadata": {"labels": {"app": "bao"}, "annotations": {}},
                "spec": {
                    "containers": [
                        {
                            "name": "bao",
                            "image": "openbao/openbao:2.4.0",
                            "ports": [{"name": "api", "containerPort": 8200}],
                            "resources": {"requests": {"cpu": "0.5", "memory": "1024Mi"}},
                            "volumeMounts": [{"name": "data", "mountPath": "/bao/data", "readOnly": False}],
                        }
                    ],
                    "volumes": [],
                },
            },
        },
    }


def _live_of(desired: dict[str, Any]) -> dict[str, Any]:
    """What the server stores for ``desired``: defaults, canonical quantities, other owners' fields."""
    live = copy.deepcopy(desired)
    live["metadata"].update({"uid": "u1", "resourceVersion": "7", "generation": 1, "managedFields": [{}]})
    live["metadata"]["labels"]["gitops.example/owner"] = "team-a"  # another manager's label
    live["metadata"].setdefault("annotations", {})["other"] = "x"
    spec = live["spec"]
    spec.update({"podManagementPolicy": "OrderedReady", "revisionHistoryLimit": 10})
    spec["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    tpl = spec["template"]
    del tpl["metadata"]["annotations"]  # empty map omitted
    del tpl["spec"]["volumes"]  # empty list omitted
    tpl["spec"].update({"restartPolicy": "Always", "dnsPolicy": "ClusterFirst"})
    container = tpl["spec"]["containers"][0]
    container.update({"imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log"})
    container["ports"][0]["protocol"] = "TCP"
    container["resources"]["requests"] = {"cpu": "500m", "memory": "1Gi"}
    del container["volumeMounts"][0]["readOnly"]  # omitempty false
    live["status"] = {"replicas": 3}
    return live


def test_server_defaulting_is_in_sync() -> None:
    desired = _sts()
    assert differences(desired, _live_of(desired)) == []
    assert in_sync(desired, _live_of(desired))


def test_absent_is_never_in_sync() -> None:
    assert not in_sync(_sts(), None)


def test_changed_owned_field_is_drift() -> None:
    desired = _sts()
    live = _live_of(desired)
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "openbao/openbao:2.3.0"
    live["spec"]["replicas"] = 1
    assert differences(desired, live) == [
        "spec.replicas",
        "spec.template.spec.containers[name=bao].image",
    ]


def test_changed_quantity_value_is_drift() -> None:
    desired = _sts()
    live = _live_of(desired)
    live["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["memory"] = "1G"
    assert differences(desired, live) == ["spec.template.spec.containers[name=bao].resources.requests.memory"]


def test_missing_label_we_send_is_drift() -> None:
    desired = _sts()
    live = _live_of(desired)
    del live["metadata"]["labels"]["app"]
    assert differences(desired, live) == ["metadata.labels.app"]


def test_int_or_string_ports() -> None:
    desired = {"spec": {"ports": [{"port": 8200, "targetPort": 8200}]}}
    assert in_sync(desired, {"spec": {"ports": [{"port": 8200, "targetPort": "8200", "protocol": "TCP"}]}})
    assert not in_sync(desired, {"spec": {"ports": [{"port": 8200, "targetPort": "api"}]}})


def test_keyed_lists_tolerate_other_owners_entries_and_order() -> None:
    desired = {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}
    live = {"env": [{"name": "C", "value": "3"}, {"name": "B", "value": "2"}, {"name": "A", "value": "1"}]}
    assert in_sync(desired, live)
    live["env"][2]["value"] = "9"
    assert differences(desired, live) == ["env[name=A].value"]


def test_atomic_lists_compare_whole() -> None:
    assert in_sync({"args": ["server", "-config=/x"]}, {"args": ["server", "-config=/x"]})
    assert differences({"args": ["server"]}, {"args": ["server", "-dev"]}) == ["args"]
    assert differences({"args": ["a", "b"]}, {"args": ["b", "a"]}) == ["args[0]", "args[1]"]
    tolerations = [{"key": "k", "operator": "Exists"}]
    assert differences({"t": tolerations}, {"t": [*tolerations, {"key": "j", "operator": "Exists"}]}) == ["t"]


def test_types_are_not_confused() -> None:
    assert differences({"a": True}, {"a": "true"}) == ["a"]
    assert differences({"a": 1}, {"a": True}) == ["a"]
    assert differences({"a": {"b": 1}}, {"a": "b"}) == ["a"]
    assert differences({"a": [1]}, {"a": {"0": 1}}) == ["a"]


def test_null_means_no_opinion_and_zero_values_match_absence() -> None:
    assert in_sync({"metadata": {"creationTimestamp": None}, "a": 0, "b": "", "c": False}, {"metadata": {}})
    assert not in_sync({"a": 1}, {})


def test_secret_string_data_compares_with_stored_data() -> None:
    desired = {"apiVersion": "v1", "kind": "Secret", "stringData": {"token": "s3cr3t"}}
    assert in_sync(desired, {"apiVersion": "v1", "kind": "Secret", "data": {"token": "czNjcjN0"}})
    assert not in_sync(desired, {"apiVersion": "v1", "kind": "Secret", "data": {"token": "b3RoZXI="}})


def test_a_field_we_stop_sending_changes_the_hash_and_so_is_drift() -> None:
    before = _sts()
    before["metadata"]["labels"]["tier"] = "db"
    live = _live_of(stamped(before))
    after = _sts()  # no longer sends the tier label: a one-sided diff alone could not see that
    assert differences(after, live) == []
    assert differences(stamped(after), live) == [f"metadata.annotations.{APPLIED_HASH_ANNOTATION}"]
    assert differences(stamped(before), live) == []


def test_hash_ignores_key_order_nulls_and_its_own_annotation() -> None:
    a = {"kind": "ConfigMap", "metadata": {"name": "x", "annotations": {"k": "v"}}, "data": {"a": "1", "b": "2"}}
    b = {"data": {"b": "2", "a": "1"}, "metadata": {"annotations": {"k": "v"}, "name": "x", "labels": None}}
    b["kind"] = "ConfigMap"
    assert applied_hash(a) == applied_hash(b) == applied_hash(stamped(a))


def test_hash_of_a_secret_does_not_depend_on_its_values() -> None:
    one = {"apiVersion": "v1", "kind": "Secret", "data": {"key": "AAAA"}}
    two = {"apiVersion": "v1", "kind": "Secret", "data": {"key": "BBBB"}}
    three = {"apiVersion": "v1", "kind": "Secret", "data": {"other": "AAAA"}}
    assert applied_hash(one) == applied_hash(two) != applied_hash(three)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=12,
)


@given(json_values)
def test_anything_is_in_sync_with_itself(value: Any) -> None:
    assert differences(value, copy.deepcopy(value)) == []


@given(st.dictionaries(st.text(max_size=3), json_values, min_size=1, max_size=4), st.data())
def test_live_extras_never_cause_drift(desired: dict[str, Any], data: st.DataObject) -> None:
    live = copy.deepcopy(desired)
    extra = data.draw(st.text(min_size=4, max_size=6))
    live[extra] = data.draw(json_values)
    assert differences(desired, live) == []
