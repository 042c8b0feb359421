"""The fuzz suite in the test command: a fixed, seeded set of mutated manifests through every path.

Deterministic on purpose: the same 400 cases every run (seed below), so a red run replays exactly with
``uv run python scripts/fuzz.py --seed <seed> --case <index>``. Longer explorations, with other seeds and a
time budget, are run by hand with scripts/fuzz.py (figures in docs/reliability.md).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.fuzz.engine import CASE_BOUND, Altered, Case, Mutator, Runner, to_json

SEED = int(os.environ.get("OPENBAO_FUZZ_SEED", "20261202"))
CASES = int(os.environ.get("OPENBAO_FUZZ_CASES", "400"))


@pytest.mark.timeout(int(CASES * CASE_BOUND) + 60)
def test_mutated_manifests_never_crash_hang_or_reach_config_hcl_altered(tmp_path: Path) -> None:
    stats = Runner(seed=SEED, workdir=tmp_path).run(seconds=float("inf"), max_cases=CASES, processes=3)
    print(f"\nfuzz: {stats.summary()}")
    assert stats.cases == CASES
    assert stats.processes == 3
    assert set(stats.families) == {name for name, _, _ in Mutator(SEED).families}, "every mutation family ran"
    assert stats.accepted > 0, "some mutants are valid: the pipelines past the model were exercised"
    assert stats.undecodable > 0, "some mutants are undecodable: the operator's skip path was exercised"
    assert stats.config_checked > 0, "some accepted strings reached config.hcl and were read back"
    assert not stats.failures, "\n".join(str(f) for f in stats.failures[:20])


def test_the_same_seed_draws_the_same_cases() -> None:
    first, again = Mutator(7), Mutator(7)
    assert [first.case(i).text for i in range(30)] == [again.case(i).text for i in range(30)]


def test_the_iterative_json_writer_matches_json_dumps() -> None:
    value = {"a": [1, 2.5, None, True, 'x"\\\u2028😀'], "b": {"c": {}}, "": []}
    assert json.loads(to_json(value)) == value
    deep = to_json({"a": [[[[[[{"b": 1}]]]]]]})
    assert deep == json.dumps({"a": [[[[[[{"b": 1}]]]]]]}, separators=(",", ":"))


def _case(value: str, marker: str) -> Case:
    return Case(index=0, seed_file="x", family="string-hcl", text="", value=value, marker=marker)


def test_the_fidelity_oracle_sees_an_altered_value(tmp_path: Path) -> None:
    runner = Runner(seed=1, workdir=tmp_path)
    runner._fidelity(_case('a"b zqmark', "zqmark"), 'x = "a\\"b zqmark"\n')  # read back exactly: fine
    runner._fidelity(_case("other", "zqabsent"), 'x = "y"\n')  # never reached config.hcl: nothing to check
    with pytest.raises(Altered):
        runner._fidelity(_case('a"b zqmark', "zqmark"), 'x = "ab zqmark"\n')  # the quote was dropped
    with pytest.raises(Altered):
        runner._fidelity(_case("a zqmark", "zqmark"), 'x = "a zqmark\n')  # config.hcl does not parse


def test_the_exit_contract_refuses_tracebacks_and_chatty_errors() -> None:
    Runner._exit_contract(0, "---\n", "warning: x: unused\n")
    Runner._exit_contract(2, "", "warning: x: unused\nerror: spec.replicas: bad\n")
    for code, out, err in [
        (1, "", "Traceback (most recent call last):\n"),
        (2, "", "error: one\nerror: two\n"),
        (2, "", "error: " + "x" * 5000 + "\n"),
        (2, "partial", "error: x\n"),
    ]:
        with pytest.raises(AssertionError):
            Runner._exit_contract(code, out, err)
