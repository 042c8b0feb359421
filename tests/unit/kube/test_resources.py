"""apiVersion/kind → REST collection, for built-in kinds (read from lightkube-models) and declared CRs."""

from __future__ import annotations

from typing import Any

import pytest

from openbao_operator import kube
from openbao_operator.kube import ResourceType, register, resource_of, resource_type


def test_builtin_kinds_come_from_lightkube_models() -> None:
    sts = resource_type("apps/v1", "StatefulSet")
    assert (sts.group, sts.version, sts.plural, sts.namespaced) == ("apps", "v1", "statefulsets", True)
    ns = resource_type("v1", "Namespace")
    assert (ns.api_version, ns.plural, ns.namespaced) == ("v1", "namespaces", False)
    assert resource_type("policy/v1", "PodDisruptionBudget").plural == "poddisruptionbudgets"
    assert resource_type("coordination.k8s.io/v1", "Lease").plural == "leases"
    assert resource_type("events.k8s.io/v1", "Event").group == "events.k8s.io"


def test_custom_kinds() -> None:
    cluster = resource_of({"apiVersion": "openbao.org/v1alpha1", "kind": "OpenBaoCluster"})
    assert (cluster.plural, cluster.namespaced) == ("openbaoclusters", True)
    assert resource_type("gateway.networking.k8s.io/v1", "HTTPRoute").plural == "httproutes"
    assert resource_type("gateway.networking.k8s.io/v1alpha2", "TLSRoute").plural == "tlsroutes"


def test_generic_classes_build_dict_objects_and_status_subresource() -> None:
    rt = resource_type("apps/v1", "StatefulSet")
    obj: Any = rt.res({"metadata": {"name": "a", "namespace": "n"}})
    assert obj.metadata.name == "a"
    assert isinstance(obj, dict)
    assert rt.status_res._api_info.action == "status"


def test_unknown_kinds_are_refused() -> None:
    with pytest.raises(kube.KubeError, match="unknown kind"):
        resource_type("example.com/v1", "Widget")
    with pytest.raises(kube.KubeError, match="without apiVersion"):
        resource_of({"kind": "Widget"})


def test_register_is_idempotent_but_not_contradictory() -> None:
    widget = ResourceType("example.org", "v1", "Gadget", "gadgets", namespaced=True)
    assert register(widget) is widget
    assert register(widget) == widget
    with pytest.raises(ValueError, match="already registered"):
        register(ResourceType("example.org", "v1", "Gadget", "gadgetz", namespaced=False))
    assert resource_type("example.org/v1", "Gadget") == widget


def test_the_projects_own_kinds_are_known_by_the_names_api_defines() -> None:
    from openbao_operator import api
    from openbao_operator.api.tenant import TENANT_PLURAL
    from openbao_operator.kube.resources import KNOWN_CUSTOM

    known = {(f"{r.group}/{r.version}", r.kind): r.plural for r in KNOWN_CUSTOM}
    assert known[(api.API_VERSION, api.KIND)] == api.PLURAL
    assert known[(api.API_VERSION, api.TENANT_KIND)] == TENANT_PLURAL


def test_the_restore_kind_is_known_by_the_names_api_defines() -> None:
    from openbao_operator import api
    from openbao_operator.api.restore import RESTORE_KIND, RESTORE_PLURAL
    from openbao_operator.kube.resources import KNOWN_CUSTOM

    known = {(f"{r.group}/{r.version}", r.kind): r.plural for r in KNOWN_CUSTOM}
    assert known[(api.API_VERSION, RESTORE_KIND)] == RESTORE_PLURAL
