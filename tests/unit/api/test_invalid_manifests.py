"""Every invalid manifest of tests/data/invalid is rejected by the models, and the error names its field.

The same files are sent to a real kube-apiserver by the integration tier, so each rule is shown to
hold twice: at admission (CRD) and in the CLI and operator (models).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from openbao_operator.api import InvalidClusterError, parse_cluster

DATA = Path(__file__).parents[2] / "data"
EXPECT = "test.openbao.org/expect-field"
ADMISSION = sorted((DATA / "invalid").glob("*.yaml"))
FILES = ADMISSION + sorted((DATA / "invalid-models-only").glob("*.yaml"))


def test_corpus_is_large_enough() -> None:
    assert len(ADMISSION) >= 40


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_rejected_naming_the_field(path: Path) -> None:
    manifest = yaml.safe_load(path.read_text())
    expected = manifest["metadata"]["annotations"][EXPECT]
    with pytest.raises(InvalidClusterError) as caught:
        parse_cluster(manifest)
    paths = [e.path for e in caught.value.errors]
    assert paths[0] == expected, f"{path.name}: first error {caught.value.errors[0]} (all: {paths})"
    assert caught.value.summary().startswith(f"{expected}: ")
