"""Every difference between the reference operator's CRD and deploy/crd.yaml is fixed or named in the doc.

The comparison (tests/crd_diff.py, also `uv run python scripts/compare_crd.py`) walks both spec schemas
path by path: missing paths, type, enum, default, merge-marker, required, bound and pattern differences.
Each one must match a row of "CRD differences" in docs/compatibility.md, which says why; a row that matches
nothing is stale and fails too, so the table stays exactly the list of differences.
"""

from __future__ import annotations

from openbao_operator.api.crd import crd
from tests.crd_diff import Difference, differences, load_allowed, load_reference, spec_schema


def _diffs() -> list[Difference]:
    return differences(load_reference(), spec_schema(crd()))


def test_every_difference_is_listed_with_a_reason() -> None:
    allowed = load_allowed()
    unlisted = [str(d) for d in _diffs() if not any(a.matches(d) for a in allowed)]
    assert unlisted == [], "not in docs/compatibility.md (CRD differences):\n" + "\n".join(unlisted)


def test_every_listed_difference_exists() -> None:
    diffs = _diffs()
    stale = [f"`{a.pattern}` {a.kind}" for a in load_allowed() if not any(a.matches(d) for d in diffs)]
    assert stale == [], f"docs/compatibility.md lists differences that no longer exist: {stale}"


def test_every_row_has_a_reason() -> None:
    assert all(a.reason and a.kind for a in load_allowed())


def test_merge_markers_match_the_reference() -> None:
    """Server-side apply must merge the reference's atomic lists and maps the same way here."""
    markers = [d for d in _diffs() if d.kind == "marker" and "list-type" in d.reference + d.here]
    markers += [d for d in _diffs() if d.kind == "marker" and "map-type" in d.reference + d.here]
    assert markers == []


def test_comparison_sees_a_marker_a_default_and_a_missing_path() -> None:
    """The comparison itself: a schema with a dropped marker, default and property is reported."""
    reference = {
        "type": "object",
        "properties": {
            "ref": {"type": "object", "x-kubernetes-map-type": "atomic", "properties": {"name": {"type": "string"}}},
            "n": {"type": "integer", "default": 3},
            "gone": {"type": "string"},
            "e": {"type": "string", "enum": ["a", "b"]},
        },
    }
    here = {
        "type": "object",
        "required": ["n"],
        "properties": {
            "ref": {"type": "object", "properties": {"name": {"type": "string", "pattern": "^x$"}}},
            "n": {"type": "integer", "minimum": 1},
            "e": {"type": "string", "enum": ["a"]},
        },
    }
    kinds = {(d.path, d.kind) for d in differences(reference, here)}
    assert kinds == {
        ("spec.ref", "marker"),
        ("spec.ref.name", "pattern"),
        ("spec.n", "default"),
        ("spec.n", "bound"),
        ("spec.n", "required"),
        ("spec.gone", "missing"),
        ("spec.e", "enum"),
    }
