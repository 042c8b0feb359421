"""The compatibility corpus (tests/data/compat) and the refusal catalogue of docs/compatibility.md, read once.

Why shared: the unit test (models + renderer) and the integration test (the real API server with
deploy/crd.yaml) judge the same files against the same table, so neither can drift from the doc.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from openbao_operator.render.facts import OperatorIdentity
from tests.crd_diff import glob

ROOT = Path(__file__).resolve().parents[1]


def operator_identity() -> OperatorIdentity:
    """What the running operator discovers for selfInit.oidc (the issuer and a signing key), for renders that
    stand for the operator's."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return OperatorIdentity(issuer="https://kubernetes.default.svc.cluster.local", pubkeys_pem=(pem.decode(),))


CORPUS_DIR = ROOT / "tests" / "data" / "compat"
CORPUS = sorted(CORPUS_DIR.glob("*.yaml"))
DOC = ROOT / "docs" / "compatibility.md"
REFUSALS_HEADING = "## Refusals"
EXPECT = "test.openbao.org/expect"
EXPECT_IGNORED = "test.openbao.org/expect-ignored"


@dataclass(frozen=True)
class Refusal:
    """A row of the doc's "Refusals" table."""

    id: str
    field: str
    """Path glob of the field the error names (``*`` within one segment, such as an index; ``**`` any)."""
    stage: str
    """admission (the API server and the models refuse it) or render (the operator and the CLI do)."""
    why: str
    evidence: str

    def names(self, path: str) -> bool:
        return glob(self.field).fullmatch(path) is not None


@dataclass(frozen=True)
class Expectation:
    """What must happen to one corpus file."""

    path: Path
    manifest: dict[str, Any]
    refusal: str | None
    """The refusal id, or None for "accepted"."""
    ignored: frozenset[str] = frozenset()
    """Every field FieldsIgnored must name (accepted files only)."""


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def refusals(doc: Path = DOC) -> dict[str, Refusal]:
    """The "Refusals" table: | `id` | `field` | stage | why | evidence |."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    start = lines.index(REFUSALS_HEADING)
    rows: dict[str, Refusal] = {}
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        cells = _cells(line) if line.startswith("|") else []
        if len(cells) != 5 or not cells[0].startswith("`"):
            continue
        row = Refusal(cells[0].strip("`"), cells[1].strip("`"), cells[2], cells[3], cells[4])
        assert row.id not in rows, f"refusal id {row.id} listed twice"
        rows[row.id] = row
    return rows


def load(path: Path) -> Expectation:
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    annotations = manifest["metadata"].get("annotations") or {}
    expect = str(annotations.get(EXPECT, ""))
    if expect == "accepted":
        refusal = None
    elif expect.startswith("refused "):
        refusal = expect.removeprefix("refused ").strip()
    else:
        raise AssertionError(f"{path.name}: {EXPECT} must be 'accepted' or 'refused <id>', got {expect!r}")
    ignored = frozenset(line.strip() for line in str(annotations.get(EXPECT_IGNORED, "")).splitlines() if line.strip())
    return Expectation(path=path, manifest=manifest, refusal=refusal, ignored=ignored)


def set_paths(value: Any, schema: dict[str, Any], path: str = "spec") -> set[str]:
    """The schema paths (``spec.a.b``, ``[]`` for items, ``{}`` for map values) that ``value`` sets."""
    found = {path}
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if props is not None and key in props:
                found |= set_paths(item, props[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                found |= set_paths(item, extra, f"{path}{{}}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            found |= set_paths(item, schema["items"], f"{path}[]")
    return found
