"""A seeded, time-bounded fuzzer of manifests through every path that reads them.

Why: hostile or broken input must end in a domain error naming the problem, never a crash, a hang, or a
value that reaches config.hcl altered. Each case mutates one valid manifest (examples/*.yaml and the valid
test manifests) and sends the result through:

1. ``load``: the CLI's YAML loader (api.yamlio.load_all): a value or ``yaml.YAMLError`` / ``ManifestYamlError``;
2. ``model``: ``api.parse_cluster``: a cluster or ``InvalidClusterError`` with a bounded one-line summary;
3. ``render``: the ``render`` command in-process (click), ``--config-hcl`` and the full object list: exit 0,
   or exit 2 with exactly one bounded line on stderr; and ``render_desired`` for accepted clusters;
4. ``decode``: the operator's decode path, the manifest as JSON inside a LIST page between two good objects
   and as a watch line (kube.decode): decoded or ``Undecodable``, the good objects always decoded (when the
   JSON is well formed), the decoded object parsed again by the model;
5. ``fidelity``: a string accepted by the model whose unique marker reaches config.hcl must read back from
   config.hcl (parsed by python-hcl2) exactly as written;
6. ``process`` (a few cases): the real ``openbao-operator render`` process, exit 0 or 2 with one line.

Every case runs under a wall-clock bound (SIGALRM): exceeding it is a hang. The mutation families cover
types, sizes, unicode and control characters, HCL metacharacters in every string field, YAML anchors and
alias bombs, deep nesting, duplicate keys, unknown and deleted fields, and damaged text.
A failure names the seed and the case index: ``scripts/fuzz.py --seed S --case I`` replays it alone.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import hcl2
import yaml
from click.testing import CliRunner

from openbao_operator.api import InvalidClusterError, parse_cluster
from openbao_operator.api.yamlio import ManifestYamlError, load_all
from openbao_operator.cli.main import main
from openbao_operator.kube import Undecodable
from openbao_operator.kube.decode import decode_list_page, decode_watch_line
from openbao_operator.render.config import ConfigRenderError
from openbao_operator.render.desired import render_desired
from openbao_operator.render.facts import RenderFacts

ROOT = Path(__file__).parents[2]
SEED_FILES = sorted((ROOT / "examples").glob("*.yaml")) + sorted((ROOT / "tests" / "data" / "valid").glob("*.yaml"))
API, KIND = "openbao.org/v1alpha1", "OpenBaoCluster"
CASE_BOUND = 20.0
"""Seconds one case may take (every pipeline together) before it counts as a hang."""
LINE_BOUND = 1000
"""Characters of the one error line the CLI may print."""

HCL_META = ['"', "\\", "${", "%{", "$${", "}", "{", "\n", "\r", "\t", "#", "//", "/*", "*/", "<<EOF\n", "\\n",
            '\\"', "=", "[", "]", ",", "'", "`", "$", "%", "\\u0022", "EOF"]  # fmt: skip
UNICODE = ["é", "✓", "😀", "\u2028", "\u2029", "\ufeff", "\u202e", "\u200b", "\u0000", "\u0007", "\u001b",
           "\u007f", "\u0085", "\u00a0", "\ud7ff", "\U0001d518", "\ufdfa", "\u0301"]  # fmt: skip
TEXT_NOISE = ["\t", "\x00", "\x1b", "\ufeff", "\r", "&a", "*a", "!!python/object:os.system", "{", "[", "'", '"', "%"]


TEXT_FAMILIES = frozenset({"alias", "alias-bomb", "duplicate-key", "deep-flow", "text-noise", "truncate"})
"""Families that damage the YAML text itself: the API server never sends such an object."""


class CaseTimeout(Exception):  # noqa: N818 - a verdict, named as one
    """The case ran past CASE_BOUND."""


class Altered(AssertionError):  # noqa: N818 - a verdict, named as one
    """A value accepted by the model reached config.hcl different from what was written."""


@dataclass(frozen=True)
class Case:
    """One mutated manifest; ``value``/``marker`` are set when a string field was given a tracked value."""

    index: int
    seed_file: str
    family: str
    text: str
    value: str | None = None
    marker: str | None = None
    json: str | None = None
    """The mutated object as the API server would send it (doc-level mutations only; the deep ones
    included, which the CLI's YAML loader refuses but the API server stores)."""


@dataclass(frozen=True)
class Failure:
    case: Case
    pipeline: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return (
            f"case {self.case.index} ({self.case.family} on {self.case.seed_file}) {self.pipeline}: {self.kind}: "
            f"{self.detail[:600]}"
        )


@dataclass
class Stats:
    seed: int
    cases: int = 0
    seconds: float = 0.0
    processes: int = 0
    accepted: int = 0
    refused: int = 0
    undecodable: int = 0
    config_checked: int = 0
    families: dict[str, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for f in self.failures if f.kind == kind)

    def summary(self) -> str:
        return (
            f"seed={self.seed} cases={self.cases} seconds={self.seconds:.1f} processes={self.processes} "
            f"parsed: accepted={self.accepted} refused={self.refused}; undecodable={self.undecodable} "
            f"config-values-checked={self.config_checked}; crashes={self.count('crash')} "
            f"hangs={self.count('hang')} altered={self.count('altered')} contract={self.count('contract')}"
        )


def seeds() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in SEED_FILES:
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == KIND:
                out.append((str(path.relative_to(ROOT)), doc))
    return out


# --- building values and text -------------------------------------------------------------------------


def to_json(value: Any) -> str:
    """JSON text of ``value`` without recursion (json.dumps cannot write the deep cases)."""
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Raw):
            out.append(item.text)
        elif isinstance(item, dict):
            parts: list[Any] = [_Raw("{")]
            for i, (k, v) in enumerate(item.items()):
                parts += [_Raw(("," if i else "") + json.dumps(str(k)) + ":"), v]
            parts.append(_Raw("}"))
            stack.extend(reversed(parts))
        elif isinstance(item, list):
            parts = [_Raw("[")]
            for i, v in enumerate(item):
                parts += [_Raw("," if i else ""), v]
            parts.append(_Raw("]"))
            stack.extend(reversed(parts))
        elif isinstance(item, float) and not math.isfinite(item):
            out.append("0")  # JSON has no NaN or infinity; the API server never sends one
        else:
            out.append(json.dumps(item))
    return "".join(out)


@dataclass(frozen=True)
class _Raw:
    text: str


def nested(levels: int, leaf: Any = "x") -> Any:
    value = leaf
    for i in range(levels):
        value = {"a": value} if i % 2 else [value]
    return value


def paths(doc: Any) -> Iterator[tuple[list[Any], Any]]:
    """Every (path, value) of ``doc``, iteratively."""
    stack: list[tuple[list[Any], Any]] = [([], doc)]
    while stack:
        path, value = stack.pop()
        yield path, value
        if isinstance(value, dict):
            stack.extend(([*path, k], v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(([*path, i], v) for i, v in enumerate(value))


def set_at(doc: Any, path: list[Any], value: Any) -> None:
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


def delete_at(doc: Any, path: list[Any]) -> None:
    target = doc
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]


class Mutator:
    """Draws cases from a seeded ``random.Random``: the same seed gives the same cases in the same order."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.seeds = seeds()
        self.families: list[tuple[str, Callable[[random.Random, dict[str, Any]], tuple[Any, ...]], int]] = [
            ("string-marker", self._string_marker, 6),
            ("string-hcl", self._string_hcl, 8),
            ("string-unicode", self._string_unicode, 4),
            ("type", self._type, 6),
            ("size", self._size, 2),
            ("delete", self._delete, 2),
            ("unknown-key", self._unknown_key, 2),
            ("deep", self._deep, 3),
            ("alias", self._alias, 2),
            ("alias-bomb", self._alias_bomb, 1),
            ("duplicate-key", self._duplicate_key, 2),
            ("deep-flow", self._deep_flow, 1),
            ("text-noise", self._text_noise, 3),
            ("truncate", self._truncate, 1),
        ]

    def case(self, index: int) -> Case:
        rng = random.Random(f"{self.seed}:{index}")
        seed_file, seed_doc = rng.choice(self.seeds)
        doc = copy.deepcopy(seed_doc)
        names, makers, weights = zip(*self.families, strict=True)
        pick = rng.choices(range(len(names)), weights=weights)[0]
        text, value, marker = makers[pick](rng, doc)
        body = None
        if names[pick] not in TEXT_FAMILIES and isinstance(doc.get("metadata"), dict):
            doc["metadata"] = {**doc["metadata"], "uid": "uid-case", "resourceVersion": "7"}
            body = to_json(doc)
        return Case(
            index=index, seed_file=seed_file, family=names[pick], text=text, value=value, marker=marker, json=body
        )

    # -- families: each returns (text, tracked value, marker) --

    @staticmethod
    def _dump(doc: Any) -> str:
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=1_000_000)

    def _strings(self, doc: dict[str, Any]) -> list[tuple[list[Any], str]]:
        return [(p, v) for p, v in paths(doc) if isinstance(v, str) and p and p[0] in ("spec", "metadata")]

    @staticmethod
    def _marker(rng: random.Random) -> str:
        return "zq" + "".join(rng.choice("abcdefghijklmnopqrstuvwxy") for _ in range(8))

    def _tracked(self, rng: random.Random, doc: dict[str, Any], make: Callable[[str, str], str]) -> tuple[Any, ...]:
        strings = self._strings(doc)
        if not strings:
            return self._dump(doc), None, None
        path, old = rng.choice(strings)
        marker = self._marker(rng)
        set_at(doc, path, make(old, marker))
        text = self._dump(doc)
        # NB: track the value as YAML reads it back (a raw NEL or CR in a scalar is a line break to YAML)
        try:
            loaded: Any = yaml.safe_load(text)
            for part in path:
                loaded = loaded[part]
        except (yaml.YAMLError, KeyError, IndexError, TypeError):
            return text, None, None
        if not isinstance(loaded, str) or marker not in loaded:
            return text, None, None
        set_at(doc, path, loaded)
        return text, loaded, marker

    def _string_marker(self, rng: random.Random, doc: dict[str, Any]) -> tuple[Any, ...]:
        return self._tracked(rng, doc, lambda old, m: rng.choice([old + m, m, old + "-" + m]))

    def _string_hcl(self, rng: random.Random, doc: dict[str, Any]) -> tuple[Any, ...]:
        def make(old: str, marker: str) -> str:
            payload = "".join(rng.choice(HCL_META) for _ in range(rng.randint(1, 4)))
            where = rng.randint(0, len(old))
            return old[:where] + payload + old[where:] + marker

        return self._tracked(rng, doc, make)

    def _string_unicode(self, rng: random.Random, doc: dict[str, Any]) -> tuple[Any, ...]:
        def make(old: str, marker: str) -> str:
            chars = "".join(rng.choice(UNICODE) for _ in range(rng.randint(1, 3)))
            return rng.choice([old + chars, chars + old, old[:1] + chars + old[1:]]) + marker

        return self._tracked(rng, doc, make)

    @staticmethod
    def _random_value(rng: random.Random) -> Any:
        return rng.choice(
            [
                None, True, False, 0, -1, 1, 2**31, 2**63, -(2**63) - 1, 10**30, 1.5, -0.0, 1e308, "", " ", "0",
                "true", "null", "~", "1Gi", "-1Gi", "1e3", "0x10", [], {}, [None], {"": None}, [[]], {"a": {"b": []}},
                "Development", "Hardened", "RollingUpdate", "static", "a" * 300,
            ]
        )  # fmt: skip

    def _any_path(self, rng: random.Random, doc: dict[str, Any]) -> list[Any]:
        candidates = [p for p, _ in paths(doc) if p and p[0] in ("spec", "metadata", "apiVersion", "kind")]
        return rng.choice(candidates)

    def _type(self, rng: random.Random, doc: dict[str, Any]) -> tuple[Any, ...]:
        set_at(doc, self._any_path(rng, doc), self._random_value(rng))
        return self._dump(doc), None, None

    def _size(self, rng: random.Random, doc: dict[str, Any]) -> tuple[Any, ...]:
        n = rng.choice([1_000, 10_000, 100_000])
        value = rng.choice([rng.choice("aZ9-. ") * n, ["x"] * (n // 10), {f"k{i}": "v" for i in range(n // 100)}])
        set_at(doc, self._any_path(rng, doc), value)
        return self._dump(doc), None, None

    def _delete(self, rng: random.Random, doc: dict[str, Any]) -> tuple[Any, ...]:
        delete_at(doc, self._any_path(rng, doc))
        return self._dump(doc), None, None

    def _unknown_key(self, rng: random.Random, doc: dict[str, Any]) -> tuple[Any, ...]:
        maps = [p for p, v in paths(doc) if isinstance(v, dict)]
        target = rng.choice(maps)
        key = rng.choice(["extra", "x-unknown", "Spec", "replicas ", "", "__proto__", "<<", "${x}"])
        set_at(doc, [*target, key], self._random_value(rng))
        return self._dump(doc), None, None

    def _deep(self, rng: random.Random, doc: dict[str, Any]) -> tuple[Any, ...]:
        levels = rng.choice([20, 31, 33, 40, 63, 65, 200, 1_500, 5_000])
        where = rng.choice(["backup", "restore", "selfInit", "podLabels", "affinity", "upgrade"])
        doc["spec"][where] = "__DEEP__"
        text = self._dump(doc)
        deep = nested(levels)
        doc["spec"][where] = deep
        # NB: written as flow JSON (valid YAML): PyYAML's own emitter recurses and cannot write 5,000 levels
        return text.replace("__DEEP__", to_json(deep), 1), None, None

    def _alias(self, rng: random.Random, doc: dict[str, Any]) -> tuple[Any, ...]:
        text = self._dump(doc)
        lines = text.splitlines()
        keyed = [i for i, line in enumerate(lines) if re.match(r"^\s+[A-Za-z]+: \S", line)]
        if len(keyed) < 2:
            return text, None, None
        a, b = sorted(rng.sample(keyed, 2))
        key, _, value = lines[a].partition(": ")
        lines[a] = f"{key}: &anchor {value}"
        bkey, _, _ = lines[b].partition(": ")
        lines[b] = f"{bkey}: *anchor"
        return "\n".join(lines) + "\n", None, None

    def _alias_bomb(self, rng: random.Random, doc: dict[str, Any]) -> tuple[Any, ...]:
        levels, fanout = rng.choice([(9, 9), (6, 10), (20, 2), (5, 5)])
        lines = ['  b0: &b0 ["lol"]']
        for i in range(1, levels + 1):
            lines.append(f"  b{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * fanout) + "]")
        field_ = rng.choice(["profile", "backup", "tolerations", "replicas", "podLabels"])
        doc["spec"][field_] = "__BOMB__"
        text = self._dump(doc)
        return "x-anchors:\n" + "\n".join(lines) + "\n" + text.replace("__BOMB__", f"*b{levels}", 1), None, None

    def _duplicate_key(self, rng: random.Random, doc: dict[str, Any]) -> tuple[Any, ...]:
        lines = self._dump(doc).splitlines()
        keyed = [i for i, line in enumerate(lines) if re.match(r"^\s*[A-Za-z]+: \S", line)]
        i = rng.choice(keyed)
        lines.insert(i + 1, lines[i])
        return "\n".join(lines) + "\n", None, None

    def _deep_flow(self, rng: random.Random, doc: dict[str, Any]) -> tuple[Any, ...]:
        n = rng.choice([70, 1_000, 100_000, 400_000])
        doc["spec"]["backup"] = "__FLOW__"
        return self._dump(doc).replace("__FLOW__", "[" * n + "]" * n, 1), None, None

    def _text_noise(self, rng: random.Random, doc: dict[str, Any]) -> tuple[Any, ...]:
        text = self._dump(doc)
        for _ in range(rng.randint(1, 5)):
            at = rng.randint(0, len(text))
            text = text[:at] + rng.choice(TEXT_NOISE) + text[at:]
        return text, None, None

    def _truncate(self, rng: random.Random, doc: dict[str, Any]) -> tuple[Any, ...]:
        text = self._dump(doc)
        return text[: rng.randint(0, len(text))], None, None


# --- oracles -------------------------------------------------------------------------------------------


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise CaseTimeout(f"more than {CASE_BOUND:.0f}s")


def _good(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = copy.deepcopy(seeds()[0][1])
    doc["metadata"] = {"name": name, "namespace": "ns", "uid": f"uid-{name}", "resourceVersion": "1"}
    return doc


GOOD = (to_json(_good("good-a")), to_json(_good("good-b")))


def _hcl_strings(text: str) -> list[str]:
    """Every string value of config.hcl as OpenBao would read it (python-hcl2 keeps quotes: JSON-decode them),
    plus the strings inside values that are themselves JSON documents."""
    found: list[str] = []
    stack: list[Any] = [hcl2.loads(text)]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
            stack.extend(k for k in value if isinstance(k, str))
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            if value.startswith('"') and value.endswith('"') and len(value) >= 2:
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            found.append(value)
            stripped = value.strip()
            if stripped[:1] in ("{", "["):
                with contextlib.suppress(ValueError):
                    stack.append(json.loads(stripped))
    return found


class Runner:
    """Runs cases through every pipeline and collects failures."""

    def __init__(self, *, seed: int, workdir: Path) -> None:
        self.mutator = Mutator(seed)
        self.stats = Stats(seed=seed)
        self.workdir = workdir
        self._cli = CliRunner()

    def run(self, *, seconds: float, max_cases: int | None = None, processes: int = 0, start: int = 0) -> Stats:
        started = time.monotonic()
        index = start
        while time.monotonic() - started < seconds and (max_cases is None or index - start < max_cases):
            self.one(self.mutator.case(index), process=index - start < processes)
            index += 1
        self.stats.seconds = time.monotonic() - started
        return self.stats

    def one(self, case: Case, *, process: bool = False) -> None:
        self.stats.cases += 1
        self.stats.families[case.family] = self.stats.families.get(case.family, 0) + 1
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, CASE_BOUND)
        stage = "load"
        try:
            for name, check in (("render", self._render), ("model", self._model), ("decode", self._decode)):
                stage = name
                check(case)
            if process:
                stage = "process"
                self._process(case)
        except CaseTimeout as exc:
            self._fail(case, stage, "hang", str(exc))
        except Altered as exc:
            self._fail(case, "fidelity", "altered", str(exc))
        except AssertionError as exc:
            self._fail(case, stage, "contract", str(exc))
        except Exception as exc:
            self._fail(case, stage, "crash", f"{type(exc).__name__}: {str(exc)[:400]}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def _fail(self, case: Case, pipeline: str, kind: str, detail: str) -> None:
        self.stats.failures.append(Failure(case=case, pipeline=pipeline, kind=kind, detail=detail))

    def _file(self, case: Case) -> Path:
        path = self.workdir / f"case-{case.index}.yaml"
        path.write_text(case.text, encoding="utf-8", errors="surrogatepass")
        return path

    def _render(self, case: Case) -> None:
        path = self._file(case)
        try:
            for args in (["--config-hcl"], []):
                result = self._cli.invoke(main, ["render", "-f", str(path), *args], catch_exceptions=True)
                if result.exception is not None and not isinstance(result.exception, SystemExit):
                    exc = result.exception
                    if isinstance(exc, CaseTimeout):
                        raise exc
                    raise RuntimeError(f"render raised {type(exc).__name__}: {str(exc)[:300]}") from exc
                self._exit_contract(result.exit_code, result.stdout, result.stderr)
                if args and result.exit_code == 0 and case.marker is not None and case.value is not None:
                    self._fidelity(case, result.stdout)
        finally:
            path.unlink(missing_ok=True)

    @staticmethod
    def _exit_contract(code: int, stdout: str, stderr: str) -> None:
        assert code in (0, 2), f"exit {code}: {stderr[-500:]}"
        if code == 2:
            # NB: warnings about accepted-but-unused fields may come first (render_config refused later)
            lines = [line for line in stderr.splitlines() if not line.startswith(("warning: ", "note: "))]
            assert len(lines) == 1, f"exit 2 with {len(lines)} error lines on stderr: {stderr[:500]}"
            assert lines[0].startswith("error: "), lines[0][:300]
            assert len(lines[0]) <= LINE_BOUND, f"a {len(lines[0])}-character error line"
            assert stdout == "", "exit 2 printed output"
        else:
            # warnings (accepted but unused fields, risks) and notes (objects the operator makes at runtime)
            assert all(line.startswith(("warning: ", "note: ")) for line in stderr.splitlines()), stderr[:500]

    def _fidelity(self, case: Case, config: str) -> None:
        assert case.marker is not None
        assert case.value is not None
        if case.marker not in config:
            return  # the field does not go into config.hcl
        self.stats.config_checked += 1
        try:
            strings = _hcl_strings(config)
        except Exception as exc:
            raise Altered(f"config.hcl does not parse back (python-hcl2): {exc!r}") from exc
        if not any(case.value in s for s in strings):
            near = [s for s in strings if case.marker in s]
            raise Altered(f"{case.value!r} reached config.hcl as {near[:3]!r}")

    def _documents(self, case: Case) -> list[Any]:
        try:
            return load_all(case.text)
        except (yaml.YAMLError, ManifestYamlError):
            return []

    def _model(self, case: Case) -> None:
        for doc in self._documents(case):
            if isinstance(doc, dict) and doc.get("kind") not in (KIND, None):
                continue
            cluster = self._parse(doc)
            if cluster is None:
                continue
            namespace = cluster.metadata.namespace or "default"
            with contextlib.suppress(ConfigRenderError):
                render_desired(cluster, facts=RenderFacts(namespace=namespace, initialized=True, owner_uid="u"))

    def _parse(self, doc: Any) -> Any:
        try:
            cluster = parse_cluster(doc)
        except InvalidClusterError as exc:
            summary = exc.summary()
            assert "\n" not in summary, "a multi-line error summary"
            assert len(summary) <= LINE_BOUND, f"a {len(summary)}-character error summary"
            self.stats.refused += 1
            return None
        self.stats.accepted += 1
        return cluster

    def _decode(self, case: Case) -> None:
        bodies = [case.json] if case.json is not None else []
        if not bodies:
            for doc in [d for d in self._documents(case) if isinstance(d, dict)][:1]:
                meta = doc.get("metadata")
                ident = {**(meta if isinstance(meta, dict) else {}), "uid": "uid-case", "resourceVersion": "7"}
                bodies.append(to_json({**doc, "metadata": ident}))
        items: list[tuple[str, bool]] = []  # (JSON text, well formed)
        for body in bodies:
            items.append((body, True))
            flipped = list(body)
            rng = random.Random(case.index)
            for _ in range(3):
                flipped[rng.randrange(len(flipped))] = rng.choice('{}[]",:\\ x\x00')
            items.append(("".join(flipped), False))
        for body, well_formed in items:
            page = f'{{"kind":"{KIND}List","metadata":{{"resourceVersion":"9"}},"items":[{GOOD[0]},{body},{GOOD[1]}]}}'
            try:
                got = decode_list_page(page.encode(), api_version=API, kind=KIND)
            except Undecodable:
                assert not well_formed, "a well-formed page was refused whole"
                continue
            names = [str((i.get("metadata") or {}).get("name")) for i in got.items]
            if well_formed:
                assert names[:1] == ["good-a"], f"the good objects are lost: {names}"
                assert names[-1:] == ["good-b"], f"the good objects are lost: {names}"
                self.stats.undecodable += len(got.undecodable)
                for bad in got.undecodable:
                    assert bad.uid == "uid-case", f"an undecodable object not named by its metadata: {bad}"
                for item in got.items[1:-1]:
                    self._parse(item)
            line = f'{{"type":"MODIFIED","object":{body}}}'
            try:
                event = decode_watch_line(line.encode(), api_version=API, kind=KIND)
            except Undecodable:
                assert not well_formed, "a well-formed watch line was refused"
                continue
            if event.object is not None and well_formed:
                self._parse(event.object)

    def _process(self, case: Case) -> None:
        self.stats.processes += 1
        path = self._file(case)
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "openbao_operator.cli", "render", "-f", str(path)],
                capture_output=True,
                text=True,
                check=False,
                timeout=CASE_BOUND * 3,
                cwd=ROOT,
            )
        except subprocess.TimeoutExpired as exc:
            raise CaseTimeout(f"the render process ran past {CASE_BOUND * 3:.0f}s") from exc
        finally:
            path.unlink(missing_ok=True)
        self._exit_contract(proc.returncode, proc.stdout, proc.stderr)


def run(*, seed: int, seconds: float, max_cases: int | None = None, processes: int = 0, start: int = 0) -> Stats:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        return Runner(seed=seed, workdir=Path(tmp)).run(
            seconds=seconds, max_cases=max_cases, processes=processes, start=start
        )
