"""Properties of config.hcl over generated specs: deterministic, parses back to what the spec says,
sensitive to every rendered input, and free of every Secret-backed value.

python-hcl2 costs tens of milliseconds per parse, so example counts are kept modest.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import hcl2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbao_operator.api.types import HCL_SAFE_REGEX
from openbao_operator.render.config import render_config
from openbao_operator.render.config.render import config_items
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.hcl import emit
from tests.unit.render.config_cases import KMIP, SEAL_BLOCKS, TRANSIT, cluster, manifest

_SAFE = re.compile(HCL_SAFE_REGEX)
_text = st.text(
    st.characters(exclude_categories=["Cs", "Cc"], exclude_characters='"\\'), min_size=1, max_size=12
).filter(lambda s: _SAFE.fullmatch(s) is not None)
_label = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)
_secret = st.from_regex(r"SECRET-[A-Za-z0-9]{12}", fullmatch=True)
_json_scalar = st.one_of(_text, st.booleans(), st.integers(-(2**40), 2**40), st.none())
_json = st.recursive(
    _json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_label, inner, max_size=3)),
    max_leaves=6,
)
_policy = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=40).filter(
    lambda s: "${" not in s and "%{" not in s
)


@st.composite
def specs(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    """A valid manifest for some OpenBao version, and the Secret-backed values it carries."""
    secrets: list[str] = []
    version = draw(st.sampled_from(["2.4.1", "2.5.3", "2.6.2", "2.7.0", "v2.7.2", "2.7.1-rc1"]))
    minor = int(version.lstrip("v").split(".")[1])
    kind = draw(st.sampled_from(["OperatorManaged", "External", "ACME", "off"]))
    tls: dict[str, Any] = {"enabled": kind != "off"}
    if kind in ("External", "ACME"):
        tls["mode"] = kind
    if kind == "ACME":
        tls["acme"] = {
            "directoryURL": draw(_text),
            "domains": draw(st.lists(st.from_regex(r"[a-z]{1,8}\.[a-z]{2,5}", fullmatch=True), min_size=1)),
        }
        if draw(st.booleans()):
            tls["acme"]["email"] = draw(_text)
    seal_type = draw(st.sampled_from(["static", "transit", "kmip", *SEAL_BLOCKS]))
    unseal: dict[str, Any] = {"type": seal_type}
    if seal_type == "static":
        unseal["static"] = {"currentKeyID": draw(_text)}
    elif seal_type == "transit":
        secrets.append(draw(_secret))
        unseal["transit"] = {**TRANSIT, "keyName": draw(_text), "token": secrets[-1]}
    elif seal_type == "kmip":
        unseal["kmip"] = {**KMIP, "kmsKeyID": draw(_text)}
    else:
        block, options = SEAL_BLOCKS[seal_type]
        options = {k: (draw(_secret) if "never-rendered" in str(v) else v) for k, v in options.items()}
        secrets += [v for v in options.values() if isinstance(v, str) and v.startswith("SECRET-")]
        unseal[block] = options
        if minor >= 7 or (minor == 6 and draw(st.booleans())):
            unseal["kmsPlugin"] = {"command": draw(_text), "name": draw(_label)}
    if minor < 4 and seal_type == "static":
        unseal = {"type": "transit", "transit": TRANSIT}
    spec: dict[str, Any] = {"version": version, "tls": tls, "unseal": unseal}
    configuration: dict[str, Any] = {"logLevel": draw(st.sampled_from(["trace", "debug", "info", "warn", "err"]))}
    if draw(st.booleans()):
        configuration["raft"] = {"performanceMultiplier": draw(st.integers(0, 10))}
    if draw(st.booleans()):
        configuration["defaultLeaseTTL"] = f"{draw(st.integers(1, 999))}h"
    if draw(st.booleans()):
        configuration["cacheSize"] = draw(st.integers(0, 2**31))
    spec["configuration"] = configuration
    spec["audit"] = [
        {"type": "file", "path": draw(_label), "description": draw(_text), "fileOptions": {"filePath": draw(_text)}}
        for _ in range(draw(st.integers(0, 2)))
    ]
    if draw(st.booleans()):
        secrets.append(draw(_secret))
        spec["telemetry"] = {"metricsPrefix": draw(_text), "circonusAPIKey": secrets[-1]}
    spec["observability"] = {"metrics": {"enabled": draw(st.booleans())}}
    if draw(st.booleans()):
        requests = [
            {"name": "pol", "operation": "update", "path": "sys/policies/acl/p", "policy": {"policy": draw(_policy)}},
            {"name": "raw", "operation": "update", "path": f"auth/{draw(_label)}/config", "data": draw(_json)},
        ]
        spec["selfInit"] = {"enabled": True, "requests": requests}
    doc = manifest(name=draw(_label), namespace=draw(_label), **spec)
    # unique audit paths (OpenBao requires it; the API does not check it)
    doc["spec"]["audit"] = list({a["path"]: a for a in doc["spec"]["audit"]}.values())
    return doc, secrets


def _render(doc: dict[str, Any]) -> str:
    """config.hcl followed by the self-init file: what OpenBao reads, merged as it merges two -config files."""
    c = cluster(doc)
    rendered = render_config(c, facts=RenderFacts(namespace=str(doc["metadata"]["namespace"])))
    return rendered.text + rendered.self_init_text


def _unquote(v: Any) -> Any:
    if isinstance(v, dict):
        return {(json.loads(k) if k.startswith('"') else k): _unquote(x) for k, x in v.items() if k != "__is_block__"}
    if isinstance(v, list):
        return [_unquote(x) for x in v]
    if isinstance(v, str):
        return json.loads(v)
    return v


def _drop_nulls(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _drop_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_drop_nulls(x) for x in v if x is not None]
    return v


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(specs())
def test_deterministic_and_secret_free(case: tuple[dict[str, Any], list[str]]) -> None:
    doc, secrets = case
    text = _render(doc)
    assert _render(doc) == text
    for secret in secrets:
        assert secret not in text


@SETTINGS
@given(specs())
def test_parses_back_to_what_the_spec_says(case: tuple[dict[str, Any], list[str]]) -> None:
    doc, _ = case
    spec = doc["spec"]
    parsed = _unquote(hcl2.loads(_render(doc)))
    assert parsed["cluster_name"] == doc["metadata"]["name"]
    assert parsed["log_level"] == spec["configuration"]["logLevel"]
    assert "api_addr" not in parsed
    assert "cluster_addr" not in parsed
    [listener] = parsed["listener"]
    tcp = listener["tcp"]
    kind = "off" if not spec["tls"]["enabled"] else spec["tls"].get("mode", "OperatorManaged")
    assert (tcp.get("tls_disable") is True) == (kind == "off")
    assert ("tls_cert_file" in tcp) == (kind in ("OperatorManaged", "External"))
    assert ("tls_acme_ca_directory" in tcp) == (kind == "ACME")
    [raft] = parsed["storage"]
    [join] = raft["raft"]["retry_join"]
    assert f'namespace="{doc["metadata"]["namespace"]}"' in join["auto_join"]
    assert f"openbao.org/cluster={doc['metadata']['name']}" in join["auto_join"]
    assert "node_id" not in raft["raft"]
    seal_names = [next(iter(s)) for s in parsed["seal"]]
    unseal = spec["unseal"]
    plugin = unseal.get("kmsPlugin")
    assert seal_names == [plugin["name"] if plugin else unseal["type"]]
    if plugin:
        assert [next(iter(p["kms"])) for p in parsed["plugin"]] == [plugin["name"]]
    assert [next(iter(a["file"])) for a in parsed.get("audit", [])] == [a["path"] for a in spec["audit"]]
    if "selfInit" in spec:
        inits = parsed["initialize"]
        assert [next(iter(i)) for i in inits] == ["pol", "raw", "configure-autopilot"]
        pol = inits[0]["pol"]["request"][0]["pol-request"]["data"]["policy"]
        assert base64.b64decode(pol).decode() == spec["selfInit"]["requests"][0]["policy"]["policy"]
        raw = inits[1]["raw"]["request"][0]["raw-request"]
        expected = _drop_nulls(spec["selfInit"]["requests"][1]["data"])
        if expected is None or expected == {}:
            assert "data" not in raw
        else:
            assert raw["data"] == expected


@SETTINGS
@given(specs(), st.data())
def test_changing_a_rendered_input_changes_the_output(case: tuple[dict[str, Any], list[str]], data: Any) -> None:
    doc, _ = case
    before = _render(doc)
    spec = doc["spec"]
    mutations = [
        lambda d: d["metadata"].update(name=d["metadata"]["name"] + "x"),
        lambda d: d["metadata"].update(namespace=d["metadata"]["namespace"] + "x"),
        lambda d: d["spec"]["configuration"].update(cacheSize=d["spec"]["configuration"].get("cacheSize", 7) + 1),
        lambda d: d["spec"]["configuration"].update(ui=False),
        lambda d: d["spec"]["audit"].append({"type": "file", "path": "zz-new", "fileOptions": {"filePath": "x"}}),
    ]
    if spec["unseal"]["type"] == "static":
        mutations.append(lambda d: d["spec"]["unseal"]["static"].update(currentKeyID="changed-id"))
    if spec["unseal"]["type"] == "transit":
        mutations.append(lambda d: d["spec"]["unseal"]["transit"].update(keyName="changed-key"))
    if "selfInit" in spec:
        mutations.append(lambda d: d["spec"]["selfInit"]["requests"][0]["policy"].update(policy="changed"))
    mutate = data.draw(st.sampled_from(mutations))
    changed = json.loads(json.dumps(doc))
    mutate(changed)
    assert _render(changed) != before


@SETTINGS
@given(specs())
def test_restart_hash_covers_everything_but_initialize(case: tuple[dict[str, Any], list[str]]) -> None:
    doc, _ = case
    c = cluster(doc)
    facts = RenderFacts(namespace=str(doc["metadata"]["namespace"]))
    body, init = config_items(c, facts=facts)
    rendered = render_config(c, facts=facts)
    assert rendered.text == emit(body)
    assert rendered.self_init_text == emit(init)
    assert "initialize" not in rendered.text
    assert bool(rendered.self_init_text) == ("selfInit" in doc["spec"])
    if "selfInit" in doc["spec"]:
        changed = json.loads(json.dumps(doc))
        changed["spec"]["selfInit"]["requests"][0]["policy"]["policy"] = "another policy"
        again = render_config(cluster(changed), facts=facts)
        assert again.self_init_text != rendered.self_init_text
        assert again.text == rendered.text
        assert again.restart_hash == rendered.restart_hash
    changed = json.loads(json.dumps(doc))
    changed["spec"]["configuration"]["logLevel"] = (
        "trace" if doc["spec"]["configuration"]["logLevel"] != "trace" else "err"
    )
    assert render_config(cluster(changed), facts=facts).restart_hash != rendered.restart_hash
