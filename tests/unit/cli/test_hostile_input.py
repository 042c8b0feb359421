"""Hostile manifests at the command line: every one ends with exit 2 and one short line naming the problem.

Why a real process for most cases: the failures being guarded are a traceback (exit 1), a hang or an
out-of-memory kill, which only the process' exit status shows. Each process runs under an address-space
limit, so a regression fails with a MemoryError instead of taking the machine's memory.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from openbao_operator.api.yamlio import LOADER, ManifestYamlError, load_all

ROOT = Path(__file__).parents[3]
EXAMPLE = (ROOT / "examples" / "cluster.yaml").read_text()
LINE_LIMIT = 400
"""No error line echoes more than this many characters of the input, whatever its size."""

HEAD = "apiVersion: openbao.org/v1alpha1\nkind: OpenBaoCluster\nmetadata: {name: x}\n"
SPEC = "spec:\n  version: 2.4.1\n  tls: {enabled: true}\n  storage: {size: 1Gi}\n"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def _render(tmp_path: Path, content: str, *args: str) -> subprocess.CompletedProcess[str]:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(content)
    return subprocess.run(
        [sys.executable, "-m", "openbao_operator.cli", "render", "-f", str(manifest), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=50,
        preexec_fn=_limit_memory,
    )


def _one_line(proc: subprocess.CompletedProcess[str], expected: str) -> str:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr[-2000:]
    assert len(lines[0]) <= LINE_LIMIT, f"{len(lines[0])} characters: {lines[0][:200]}..."
    assert expected in lines[0], lines[0]
    return lines[0]


def _bomb(levels: int, fanout: int = 9) -> str:
    """The billion-laughs shape: each anchor is a list of ``fanout`` aliases of the previous one."""
    lines = ['b0: &b0 ["lol"]']
    for i in range(1, levels + 1):
        lines.append(f"b{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * fanout) + "]")
    return "\n".join(lines)


def test_an_alias_bomb_at_an_enum_field_is_refused_at_once(tmp_path: Path) -> None:
    # 9^9 (387 million) strings once expanded, from 2.4 kB of YAML: the reproducer.
    bomb = _bomb(9)
    content = HEAD.replace("metadata", f"x-bomb:\n  {bomb.replace(chr(10), chr(10) + '  ')}\nmetadata") + SPEC
    content += "  profile: *b9\n"
    assert len(content) < 2600
    _one_line(_render(tmp_path, content), "alias")


def test_a_small_alias_fanout_is_refused_without_echoing_it(tmp_path: Path) -> None:
    # 4^7 strings: within the loader's bound, but echoing them all is a 100 kB error line.
    content = HEAD + SPEC + "  profile:\n    " + _bomb(7, fanout=4).replace("\n", "\n    ") + "\n"
    _one_line(_render(tmp_path, content), "spec.profile")


@pytest.mark.parametrize("depth", [100, 5_000, 300_000])
def test_deep_nesting_exits_2_not_with_a_traceback_or_a_crash(tmp_path: Path, depth: int) -> None:
    content = HEAD + SPEC + "  backup: " + "[" * depth + "]" * depth + "\n"
    _one_line(_render(tmp_path, content), "nested")


def test_a_duplicate_key_is_refused_naming_the_key_and_line(tmp_path: Path) -> None:
    content = HEAD + SPEC + "  replicas: 3\n  profile: Development\n  replicas: 1\n"
    line = _one_line(_render(tmp_path, content), "duplicate key 'replicas'")
    assert "line 10" in line
    assert "first at line 8" in line


def test_a_namespace_that_is_not_a_dns_label_is_refused(tmp_path: Path) -> None:
    quoted = EXAMPLE.replace("  namespace: default\n", "  namespace: 'x\" y'\n")
    assert quoted != EXAMPLE
    _one_line(_render(tmp_path, quoted, "--config-hcl"), "metadata.namespace: ")
    without = EXAMPLE.replace("  namespace: default\n", "")
    _one_line(_render(tmp_path, without, "--config-hcl", "--namespace", 'a" b'), "--namespace: ")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("apiVersion", "v" * 100_000),
        ("spec.profile", "P" * 100_000),
        ("spec.replicas", "9" * 5_000),
        ("spec.podLabels", {"k" * 50_000: "v"}),
        ("spec.tolerations", [{"effect": "E" * 100_000}]),
        # found by the fuzzer (seed 1, case 14746): the renderer's own message quoted the whole value
        ("spec.network", {"apiServerEndpointIPs": ["9" * 100_000]}),
    ],
)
def test_echoed_values_are_bounded(tmp_path: Path, field: str, value: object) -> None:
    doc = yaml.safe_load(EXAMPLE)
    *parents, leaf = field.split(".")
    target = doc
    for part in parents:
        target = target[part]
    target[leaf] = value
    expected = "kind" if field == "apiVersion" else field.split(".")[-1]
    _one_line(_render(tmp_path, yaml.safe_dump(doc)), expected)


def test_the_c_loader_is_used_when_available() -> None:
    if yaml.__with_libyaml__:
        assert issubclass(LOADER, yaml.CSafeLoader)
    else:
        assert issubclass(LOADER, yaml.SafeLoader)


def test_merge_keys_and_small_aliases_still_load() -> None:
    (doc,) = load_all("base: &b {a: 1, b: 2}\nuse:\n  <<: *b\n  b: 3\nlist: [*b, *b]\n")
    assert doc["use"] == {"a": 1, "b": 3}
    assert doc["list"] == [{"a": 1, "b": 2}, {"a": 1, "b": 2}]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\nb:\n  c: 1\n  c: 2\n", "line 4: duplicate key 'c' (first at line 3)"),
        ("a: " + "{x: " * 70 + "1" + "}" * 70 + "\n", "line 1: nested deeper than 64 levels"),
        (_bomb(7), "aliases expand to more than"),
    ],
)
def test_loader_errors_say_where(text: str, expected: str) -> None:
    with pytest.raises(ManifestYamlError) as caught:
        load_all(text)
    assert expected in str(caught.value)
