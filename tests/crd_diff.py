"""List every difference between the reference operator's CRD schema and this operator's, mechanically.

Why: "a manifest the reference's CRD admits is accepted here" is a claim about two schemas; reading them
side by side misses things (24 merge markers went unnoticed that way). This walks both `spec` schemas
path by path and reports, for each path of the reference (tests/data/reference/openbaoclusters.crd.yaml):

- ``missing``: the path does not exist here (the API server would prune or reject the field);
- ``type``: a different JSON type (or int-or-string / preserve-unknown-fields where the other has a type);
- ``enum``: different allowed values (values the reference allows and this CRD does not, and additions);
- ``default``: a different (or absent) default;
- ``marker``: a different ``x-kubernetes-*`` merge or structure marker (list-type, map-type, list-map-keys,
  preserve-unknown-fields, int-or-string, embedded-resource): these decide how server-side apply merges;
- ``required``: required here, optional in the reference;
- ``bound``: a stricter minLength/maxLength/minimum/maximum/minItems/maxItems;
- ``pattern``: a pattern here where the reference has none or another one.

Each difference must be fixed or named, with its reason, in the table "CRD differences" of
docs/compatibility.md (path globs allowed, ``*`` within one path segment, ``**`` across segments);
tests/unit/api/test_reference_crd.py fails on an unlisted difference and on a listed one that no longer
exists. Paths use ``[]`` for list items and ``{}`` for map values, as in the doc.

The command line is scripts/compare_crd.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "data" / "reference" / "openbaoclusters.crd.yaml"
DOC = ROOT / "docs" / "compatibility.md"
TABLE_HEADING = "## CRD differences"

Schema = dict[str, Any]

MARKERS = (
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-int-or-string",
    "x-kubernetes-embedded-resource",
)
LOWER_BOUNDS = ("minLength", "minimum", "minItems", "minProperties")
UPPER_BOUNDS = ("maxLength", "maximum", "maxItems", "maxProperties")


@dataclass(frozen=True, order=True)
class Difference:
    """One way a path's schema here differs from the reference's."""

    path: str
    kind: str
    reference: str
    here: str

    def __str__(self) -> str:
        return f"{self.path}  {self.kind}: reference {self.reference}, here {self.here}"


@dataclass(frozen=True)
class Allowed:
    """A row of the doc's table: differences of ``kind`` on paths matching the glob ``pattern`` are intended.

    ``kind`` may carry a qualifier that narrows the row: ``pattern HclStr`` (the pattern is that named
    type's, alone or with "empty allowed"), ``bound maxLength`` (that bound), ``marker
    x-kubernetes-preserve-unknown-fields`` (that marker).
    """

    pattern: str
    kind: str
    reason: str

    def matches(self, diff: Difference) -> bool:
        kind, _, qualifier = self.kind.partition(" ")
        if kind != diff.kind or glob(self.pattern).fullmatch(diff.path) is None:
            return False
        if not qualifier:
            return True
        if kind == "pattern":
            regex = named_patterns().get(qualifier)
            if regex is None:
                raise ValueError(f"docs/compatibility.md: unknown pattern name {qualifier!r}")
            return diff.here in (regex, "^(?:" + regex.removeprefix("^").removesuffix("$") + ")?$")
        return diff.reference.startswith(qualifier)


def named_patterns() -> dict[str, str]:
    """The regular expressions of the API's constrained string types, by type name (for the doc's rows)."""
    from typing import get_args

    from openbao_operator.api import k8s, types

    found: dict[str, str] = {}
    for module in (types, k8s):
        for name in dir(module):
            for meta in get_args(getattr(module, name))[1:]:
                if isinstance(meta, types.Pattern):
                    found[name] = meta.regex
    return found


def glob(pattern: str) -> re.Pattern[str]:
    """A path glob: ``*`` matches within one dotted segment, ``**`` across segments."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += r"[^.]*"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def spec_schema(crd: Schema) -> Schema:
    """The `spec` property of the first version's openAPIV3Schema."""
    schema: Schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return schema


def load_reference() -> Schema:
    (crd,) = [d for d in yaml.safe_load_all(REFERENCE.read_text(encoding="utf-8")) if d]
    return spec_schema(crd)


def walk(node: Schema, path: str = "spec") -> Iterator[tuple[str, Schema]]:
    """Every schema node with its path: `.name` for properties, `[]` for items, `{}` for map values."""
    yield path, node
    for name, child in (node.get("properties") or {}).items():
        yield from walk(child, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}{{}}")


def _enum(node: Schema) -> frozenset[Any] | None:
    """The allowed values; controller-gen writes repeated enums as allOf, which means their intersection."""
    sets = [frozenset(node["enum"])] if "enum" in node else []
    sets += [frozenset(part["enum"]) for part in node.get("allOf") or () if "enum" in part]
    if not sets:
        return None
    out = sets[0]
    for s in sets[1:]:
        out &= s
    return out


def _type(node: Schema) -> str:
    if node.get("x-kubernetes-int-or-string"):
        return "int-or-string"
    if node.get("x-kubernetes-preserve-unknown-fields") and "type" not in node:
        return "any"
    return str(node.get("type", "any"))


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, frozenset):
        return "[" + ", ".join(sorted(map(str, value))) + "]"
    return repr(value) if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


def _required(parent: Schema | None, name: str) -> bool:
    return parent is not None and name in (parent.get("required") or ())


def _node_differences(path: str, ref: Schema, here: Schema) -> Iterator[Difference]:
    if _type(ref) != _type(here):
        yield Difference(path, "type", _type(ref), _type(here))
    ref_enum, here_enum = _enum(ref), _enum(here)
    if ref_enum != here_enum:
        yield Difference(path, "enum", _show(ref_enum), _show(here_enum))
    if ref.get("default") != here.get("default"):
        yield Difference(path, "default", _show(ref.get("default")), _show(here.get("default")))
    for marker in MARKERS:
        if ref.get(marker) != here.get(marker):
            yield Difference(path, "marker", f"{marker}={_show(ref.get(marker))}", _show(here.get(marker)))
    for bound in LOWER_BOUNDS:
        if bound in here and here[bound] > ref.get(bound, here[bound] - 1):
            yield Difference(path, "bound", f"{bound}={_show(ref.get(bound))}", str(here[bound]))
    for bound in UPPER_BOUNDS:
        if bound in here and here[bound] < ref.get(bound, here[bound] + 1):
            yield Difference(path, "bound", f"{bound}={_show(ref.get(bound))}", str(here[bound]))
    if "pattern" in here and here["pattern"] != ref.get("pattern"):
        yield Difference(path, "pattern", _show(ref.get("pattern")), here["pattern"])


def differences(reference: Schema, ours: Schema) -> list[Difference]:
    """Every difference, in path order. Paths only this CRD has are additions, not differences."""
    here_nodes = dict(walk(ours))
    here_parents: dict[str, Schema] = {}
    for path, node in here_nodes.items():
        for name in node.get("properties") or {}:
            here_parents[f"{path}.{name}"] = node
    out: list[Difference] = []
    ref_parents: dict[str, Schema] = {}
    for path, node in walk(reference):
        for name in node.get("properties") or {}:
            ref_parents[f"{path}.{name}"] = node
        here = here_nodes.get(path)
        if here is None:
            parent = path[:-2] if path.endswith(("[]", "{}")) else path.rsplit(".", 1)[0]
            if parent in here_nodes:  # a missing subtree is reported once, at its root
                out.append(Difference(path, "missing", _type(node), "(absent)"))
            continue
        out += _node_differences(path, node, here)
        name = path.rsplit(".", 1)[-1]
        if _required(here_parents.get(path), name) and not _required(ref_parents.get(path), name):
            out.append(Difference(path, "required", "optional", "required"))
    return sorted(set(out))


def load_allowed(doc: Path = DOC) -> list[Allowed]:
    """The rows of the doc's "CRD differences" table: | `path glob` | kind | reason |."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    try:
        start = lines.index(TABLE_HEADING)
    except ValueError:
        raise SystemExit(f"{doc}: no '{TABLE_HEADING}' section") from None
    rows: list[Allowed] = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        rows.append(Allowed(pattern=cells[0].strip("`"), kind=cells[1], reason=cells[2]))
    return rows
