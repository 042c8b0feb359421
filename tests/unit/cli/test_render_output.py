"""`openbao-operator render` prints only objects that can be applied as they are (a GitOps tool will apply them).

Before: the static unseal key Secret was printed first, `immutable: true` and without data; applied by a GitOps
tool it would stand in the key's place for ever (immutable, and the operator never overwrites a key), so the
cluster could never bootstrap. Objects the operator makes at runtime (key and certificate Secrets, the Gateway's
CA ConfigMap) are now named on stderr instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from openbao_operator.api.yamlio import load_all
from openbao_operator.cli.main import main

ROOT = Path(__file__).parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_printed_secret_carries_its_data_and_none_is_immutable(example: Path) -> None:
    result = CliRunner().invoke(main, ["render", "-f", str(example)])
    assert result.exit_code == 0, result.stderr
    for doc in load_all(result.stdout):
        where = f"{doc['kind']} {doc['metadata']['name']}"
        assert doc.get("immutable") is not True, where
        if doc["kind"] == "Secret":
            assert doc.get("data"), f"{where} has no data: applied as is it would be empty"


def test_the_unseal_key_and_certificates_are_named_on_stderr_not_printed() -> None:
    result = CliRunner().invoke(main, ["render", "-f", str(ROOT / "examples" / "dev-minimal.yaml")])
    assert result.exit_code == 0, result.stderr
    printed = {(d["kind"], d["metadata"]["name"]) for d in load_all(result.stdout)}
    for name in ("dev-unseal-key", "dev-tls-ca", "dev-tls-server"):
        assert ("Secret", name) not in printed
        [line] = [line for line in result.stderr.splitlines() if f"Secret {name}" in line]
        assert line.startswith("note: dev: ")
        assert "created by the operator" in line
    assert ("StatefulSet", "dev") in printed
