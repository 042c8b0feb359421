"""Reference-operator manifests are accepted unless OpenBao could not run them, and every refusal is listed.

Each file of tests/data/compat (manifests in the reference operator's format, written for this project)
goes through what the CLI and the operator do: parse (the models hold the same rules as the CRD) and render
the whole desired state. The outcome must be the file's expectation: accepted, with exactly the listed
fields reported in FieldsIgnored; or refused for a reason of the "Refusals" table of docs/compatibility.md,
naming that row's field at that row's stage. Any other outcome fails. The real API server's half is
tests/integration/test_compat_corpus.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from openbao_operator.api import InvalidClusterError, parse_cluster
from openbao_operator.api.ignored import ignored_fields
from openbao_operator.render.config import ConfigRenderError
from openbao_operator.render.desired import render_desired
from openbao_operator.render.facts import RenderFacts
from tests import compat

REFERENCE_CRD = compat.ROOT / "tests" / "data" / "reference" / "openbaoclusters.crd.yaml"


def _outcome(manifest: dict[str, Any]) -> tuple[str, str, str, list[str]]:
    """(stage, field, message, ignored paths): stage is admission, render or accepted."""
    try:
        cluster = parse_cluster(manifest)
    except InvalidClusterError as exc:
        first = exc.errors[0]
        return "admission", first.path, first.message, []
    ignored = [f.path for f in ignored_fields(cluster.spec)]
    try:
        # As the operator renders: with the ServiceAccount issuer and keys it reads for selfInit.oidc.
        identity = compat.operator_identity()
        render_desired(cluster, facts=RenderFacts(namespace="compat", operator_identity=identity))
        render_desired(cluster, facts=RenderFacts(namespace="compat", initialized=True, operator_identity=identity))
    except ConfigRenderError as exc:
        return "render", exc.field, exc.reason, ignored
    return "accepted", "", "", ignored


@pytest.mark.parametrize("path", compat.CORPUS, ids=[p.stem for p in compat.CORPUS])
def test_corpus_file_has_its_expected_outcome(path: Path) -> None:
    expected = compat.load(path)
    stage, field, message, ignored = _outcome(expected.manifest)
    if expected.refusal is None:
        assert stage == "accepted", f"{path.name} was refused at {stage}: {field}: {message}"
        assert sorted(ignored) == sorted(expected.ignored), f"{path.name}: FieldsIgnored differs"
        assert len(ignored) == len(set(ignored)), f"{path.name}: a field is reported twice: {ignored}"
        return
    row = compat.refusals().get(expected.refusal)
    assert row is not None, f"{path.name}: refusal {expected.refusal!r} is not in docs/compatibility.md"
    # The models hold the CRD's rules and more (stage "models": what a CRD schema cannot express).
    expected_stage = "admission" if row.stage in ("admission", "models") else row.stage
    assert stage == expected_stage, f"{path.name}: expected a refusal at {row.stage}, got {stage}: {field}: {message}"
    assert row.names(field), f"{path.name}: the refusal names {field!r}, the doc says {row.field!r}: {message}"


def test_every_listed_refusal_is_exercised_by_the_corpus() -> None:
    used = {compat.load(p).refusal for p in compat.CORPUS}
    assert set(compat.refusals()) - used == set(), "refusals listed in docs/compatibility.md without a corpus file"


def test_corpus_sets_every_field_of_the_reference_crd() -> None:
    from tests.crd_diff import spec_schema, walk

    (crd,) = [d for d in yaml.safe_load_all(REFERENCE_CRD.read_text()) if d]
    schema = spec_schema(crd)
    covered: set[str] = set()
    for path in compat.CORPUS:
        covered |= compat.set_paths(compat.load(path).manifest["spec"], schema)
    missing = sorted(p for p, _ in walk(schema) if p not in covered)
    assert missing == [], f"no corpus file sets {len(missing)} reference fields: {missing[:20]}"


def test_every_sample_shape_has_a_corpus_file() -> None:
    """The reference's samples use these shapes; each must be in the corpus, accepted or refused."""
    specs = [compat.load(p).manifest["spec"] for p in compat.CORPUS]
    seals = {(s.get("unseal") or {}).get("type", "static") for s in specs}
    assert seals >= {"static", "awskms", "gcpckms", "azurekeyvault", "transit", "kmip", "ocikms", "pkcs11"}
    modes = {(s["tls"].get("mode", "OperatorManaged"), s["tls"]["enabled"]) for s in specs}
    assert {("OperatorManaged", True), ("OperatorManaged", False), ("External", True), ("ACME", True)} <= modes
    assert any((s.get("selfInit") or {}).get("enabled") for s in specs)
    assert any((s.get("gateway") or {}).get("tlsPassthrough") for s in specs)
    assert any((s.get("gateway") or {}).get("enabled") and not s["gateway"].get("tlsPassthrough") for s in specs)
    assert any((s.get("ingress") or {}).get("enabled") for s in specs)
    assert any("backup" in s and "upgrade" in s for s in specs)
    assert any((s.get("imageVerification") or {}).get("issuer") for s in specs)
    assert any(s.get("profile") == "Hardened" for s in specs)


def test_corpus_names_are_unique_dns_labels() -> None:
    names = [compat.load(p).manifest["metadata"]["name"] for p in compat.CORPUS]
    assert len(names) == len(set(names))


def test_the_doc_states_the_corpus_figures() -> None:
    expectations = [compat.load(p) for p in compat.CORPUS]
    accepted = sum(e.refusal is None for e in expectations)
    text = " ".join(compat.DOC.read_text(encoding="utf-8").split())
    assert f"A corpus of {len(expectations)} manifests" in text
    assert f"{accepted} are accepted" in text
    assert f"{len(expectations) - accepted} are refused" in text
    readme = " ".join((compat.ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"A corpus of {len(expectations)} manifests" in readme
