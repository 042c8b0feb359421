"""Properties of the composed desired state (config.hcl + objects) over many valid clusters.

- No secret value of the spec reaches config.hcl (a ConfigMap), an annotation, a label or an env literal.
- The config-hash annotation changes exactly when restart-relevant config changes: it is the hash of
  config.hcl, which holds no `initialize` blocks (they are in the self-init Secret), so a log-level change
  rolls the pods, while self-init requests, replicas or pod annotations do not.
- Joining finds exactly this cluster's pods: auto_join's namespace and label selector match the pods
  rendered, and the pods' advertised addresses are names of the StatefulSet's headless Service.
"""

from __future__ import annotations

import copy
import hashlib
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbao_operator.api import names, parse_cluster
from openbao_operator.render.config import config_items
from openbao_operator.render.desired import DesiredState, render_desired
from openbao_operator.render.hcl import emit

from .workload.strategies import Drawn, drawn_clusters
from .workload.test_properties import strings

PROPERTY = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def desired(d: Drawn) -> DesiredState:
    return render_desired(d.cluster, facts=d.facts)


def template(state: DesiredState) -> dict[str, Any]:
    sts = next(o for o in state.objects if o["kind"] == "StatefulSet")
    result: dict[str, Any] = sts["spec"]["template"]
    return result


def with_spec(d: Drawn, **changes: Any) -> Drawn:
    doc = copy.deepcopy(d.cluster.to_json())
    doc["spec"].update(changes)
    return Drawn(parse_cluster(doc), d.facts, d.secrets)


@PROPERTY
@given(drawn_clusters())
def test_no_secret_value_anywhere_visible(d: Drawn) -> None:
    state = desired(d)
    exposed: list[str] = [state.config.text]
    for obj in state.documents():
        exposed += strings(obj["metadata"].get("annotations", {}))
        exposed += strings(obj["metadata"].get("labels", {}))
        if obj["kind"] == "ConfigMap":
            exposed += strings(obj["data"])
        if obj["kind"] == "StatefulSet":
            tpl = obj["spec"]["template"]
            exposed += strings(tpl["metadata"])
            for c in tpl["spec"]["containers"]:
                exposed += [e["value"] for e in c.get("env", []) if "value" in e]
                exposed += strings(c.get("args", []))
    for secret in d.secrets:
        assert not any(secret in text for text in exposed), secret


@PROPERTY
@given(drawn_clusters())
def test_config_hash_is_the_hash_of_the_restart_relevant_config(d: Drawn) -> None:
    state = desired(d)
    body, _init = config_items(d.cluster, facts=d.facts)
    restartable = emit(body)
    assert state.config.text == restartable
    annotation = template(state)["metadata"]["annotations"][names.ANNOTATION_CONFIG_HASH]
    assert annotation == hashlib.sha256(restartable.encode()).hexdigest()
    config_map = next(o for o in state.objects if o["kind"] == "ConfigMap")
    assert config_map["data"]["config.hcl"] == state.config.text


LOG_LEVELS = ("trace", "debug", "info", "warn", "err")


@PROPERTY
@given(drawn_clusters(), st.sampled_from(LOG_LEVELS), st.sampled_from(LOG_LEVELS))
def test_config_hash_changes_exactly_when_restart_relevant_config_changes(d: Drawn, a: str, b: str) -> None:
    def hash_of(drawn: Drawn) -> str:
        value: str = template(desired(drawn))["metadata"]["annotations"][names.ANNOTATION_CONFIG_HASH]
        return value

    base = with_spec(d, configuration={"logLevel": a})
    other_level = with_spec(d, configuration={"logLevel": b})
    assert (hash_of(base) == hash_of(other_level)) == (a == b)

    request = {"name": "kv", "operation": "update", "path": "sys/mounts/kv", "secretEngine": {"type": "kv"}}
    self_init = with_spec(base, selfInit={"enabled": True, "requests": [request]})
    assert "initialize" in desired(self_init).config.self_init_text
    assert desired(self_init).config.text == desired(base).config.text
    assert hash_of(self_init) == hash_of(base)
    assert hash_of(with_spec(base, replicas=base.cluster.spec.replicas % 7 + 1)) == hash_of(base)
    assert hash_of(with_spec(base, podAnnotations={"x.example.com/y": "z"})) == hash_of(base)


@PROPERTY
@given(drawn_clusters())
def test_join_targets_are_this_clusters_pods_behind_the_headless_service(d: Drawn) -> None:
    state = desired(d)
    match = re.search(r'auto_join\s*=\s*"(.*)"\n', state.config.text)
    assert match is not None
    join = match.group(1).replace('\\"', '"')
    namespace = re.search(r'namespace="([^"]*)"', join)
    selector = re.search(r'label_selector="([^"]*)"', join)
    assert namespace is not None
    assert selector is not None
    assert namespace.group(1) == d.facts.namespace
    wanted = dict(pair.split("=", 1) for pair in selector.group(1).split(","))
    pod_labels = template(state)["metadata"]["labels"]
    assert wanted.items() <= pod_labels.items()
    sts = next(o for o in state.objects if o["kind"] == "StatefulSet")
    headless = next(
        o for o in state.objects if o["kind"] == "Service" and o["metadata"]["name"] == sts["spec"]["serviceName"]
    )
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    env = {e["name"]: e.get("value") for e in template(state)["spec"]["containers"][0]["env"]}
    suffix = f".{headless['metadata']['name']}.{d.facts.namespace}.svc"
    for var in ("BAO_API_ADDR", "BAO_CLUSTER_ADDR"):
        assert f"://$(BAO_K8S_POD_NAME){suffix}:" in env[var]
    # Nothing else in config.hcl names a pod address the headless Service would not provide.
    assert "api_addr" not in state.config.text
    assert "leader_api_addr" not in state.config.text
