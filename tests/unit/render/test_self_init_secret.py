"""Self-init requests live in the Secret `<name>-config-init`, never in the `<name>-config` ConfigMap.

Why: a request's data is often a secret (a userpass password, a JWT/OIDC client secret), and a ConfigMap
is readable by anyone who may read ConfigMaps. OpenBao reads several `-config` files and appends the
`initialize` stanzas of every one (proven against bao in tests/integration/test_config_boot.py), so the
pods get config.hcl from the ConfigMap and the `initialize` blocks from the Secret, mounted beside it.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from openbao_operator.api import names
from openbao_operator.render.desired import DesiredState, render_desired
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.selfinit import SPENT

from .config_cases import cluster, manifest

PASSWORD = "s3cret-Password-of-alice"
CLIENT_SECRET = "oidc-client-secret-value"

REQUESTS: list[dict[str, Any]] = [
    {"name": "userpass", "operation": "update", "path": "sys/auth/userpass", "authMethod": {"type": "userpass"}},
    {
        "name": "alice",
        "operation": "update",
        "path": "auth/userpass/users/alice",
        "data": {"password": PASSWORD, "token_policies": ["default"]},
    },
    {
        "name": "oidc",
        "operation": "update",
        "path": "auth/oidc/config",
        "data": {"oidc_client_id": "bao", "oidc_client_secret": CLIENT_SECRET},
    },
]


def _render(**spec: Any) -> DesiredState:
    doc = manifest(name="si", namespace="prod", **spec)
    return render_desired(cluster(doc), facts=RenderFacts(namespace="prod", owner_uid="uid-1"))


def _one(state: DesiredState, kind: str, name: str) -> dict[str, Any]:
    found = [o for o in state.objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, [(o["kind"], o["metadata"]["name"]) for o in state.objects]
    return found[0]


def test_request_data_is_in_the_secret_and_nowhere_in_a_config_map() -> None:
    state = _render(selfInit={"enabled": True, "requests": REQUESTS})
    for obj in state.objects:
        if obj["kind"] == "ConfigMap":
            text = json.dumps(obj)
            assert PASSWORD not in text
            assert CLIENT_SECRET not in text
            assert "initialize" not in text  # no request at all, not only the secret-looking ones
    assert "initialize" not in state.config.text
    secret = _one(state, "Secret", "si-config-init")
    assert secret["type"] == "Opaque"
    assert secret["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    assert set(secret["data"]) == {"config.hcl"}
    text = base64.b64decode(secret["data"]["config.hcl"]).decode()
    assert text == state.config.self_init_text
    assert PASSWORD in text
    assert CLIENT_SECRET in text
    assert 'initialize "alice"' in text
    assert 'initialize "configure-autopilot"' in text


def test_pods_read_both_files() -> None:
    state = _render(selfInit={"enabled": True, "requests": REQUESTS})
    pod = _one(state, "StatefulSet", "si")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["args"] == ["server", f"-config={names.CONFIG_FILE}", f"-config={names.SELF_INIT_FILE}"]
    volume = next(v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == "si-config-init")
    mount = next(m for m in container["volumeMounts"] if m["name"] == volume["name"])
    assert mount == {"name": volume["name"], "mountPath": names.SELF_INIT_DIR, "readOnly": True}
    assert volume["secret"]["defaultMode"] == 0o440


def test_without_self_init_there_is_no_secret_and_one_config_file() -> None:
    state = _render()
    assert not [o for o in state.objects if o["kind"] == "Secret"]
    assert state.config.self_init_text == ""
    pod = _one(state, "StatefulSet", "si")["spec"]["template"]["spec"]
    assert pod["containers"][0]["args"] == ["server", f"-config={names.CONFIG_FILE}"]
    assert all("config-init" not in json.dumps(v) for v in pod["volumes"])


def test_request_changes_do_not_restart_pods() -> None:
    """OpenBao runs the requests once, on a cluster that is not initialized; after that they are inert, so a
    change to them must not roll the pods (and no hash of the Secret's content appears anywhere)."""

    def annotations(state: DesiredState) -> dict[str, str]:
        value: dict[str, str] = _one(state, "StatefulSet", "si")["spec"]["template"]["metadata"]["annotations"]
        return value

    changed = [*REQUESTS[:1], {**REQUESTS[1], "data": {"password": "another"}}, *REQUESTS[2:]]
    first = _render(selfInit={"enabled": True, "requests": REQUESTS})
    second = _render(selfInit={"enabled": True, "requests": changed})
    assert first.config.self_init_text != second.config.self_init_text
    assert annotations(first) == annotations(second)


def test_once_initialized_the_secret_holds_no_initialize_block_and_the_pods_do_not_roll() -> None:
    """Pods that start after the bootstrap (pods 1 and 2, a pod whose volume was lost) must not read the
    ``initialize`` blocks: OpenBao's self-init does not wait for the raft join, so such a pod bootstrapped a
    raft cluster of its own (tests/integration/test_operator_token_e2e.py saw three clusters of one voter)."""
    doc = manifest(name="si", namespace="prod", replicas=3, selfInit={"enabled": True, "requests": REQUESTS})
    before = render_desired(cluster(doc), facts=RenderFacts(namespace="prod", owner_uid="uid-1"))
    after = render_desired(cluster(doc), facts=RenderFacts(namespace="prod", owner_uid="uid-1", initialized=True))
    text = base64.b64decode(_one(after, "Secret", "si-config-init")["data"]["config.hcl"]).decode()
    assert text == SPENT
    assert 'initialize "' not in text
    assert PASSWORD not in text
    assert 'initialize "' in base64.b64decode(_one(before, "Secret", "si-config-init")["data"]["config.hcl"]).decode()
    template = _one(before, "StatefulSet", "si")["spec"]["template"]
    assert _one(after, "StatefulSet", "si")["spec"]["template"] == template  # the file stays mounted: no roll
