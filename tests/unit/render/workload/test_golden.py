"""Golden files: what each representative cluster renders to, object by object, reviewed by a person.

Why golden files: a renderer's output is a contract with the API server and with users reading
`render`; a diff in review shows exactly what changed. Regenerate after an intended change with
`UPDATE_GOLDEN=1 uv run pytest tests/unit/render/workload/test_golden.py` and read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from openbao_operator.api.yamlio import dump_all
from openbao_operator.render.workload import unseal_key_shape, workload_objects

from .cases import CASES, CONFIG_HASH, CONFIG_TEXT, SELF_INIT_TEXT, Case

GOLDEN = Path(__file__).parent / "golden"


def render_case(case: Case) -> list[dict[str, Any]]:
    """The unseal Secret's shape (while the first key is still to be created) first, then the applied objects."""
    cluster = case.cluster()
    unseal = unseal_key_shape(cluster, case.facts)
    objects = workload_objects(
        cluster, case.facts, config_text=CONFIG_TEXT, config_hash=CONFIG_HASH, self_init_text=SELF_INIT_TEXT
    )
    return ([unseal] if unseal is not None else []) + objects


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden(case: Case) -> None:
    text = dump_all(render_case(case))
    path = GOLDEN / f"{case.name}.yaml"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.is_file(), f"{path} missing: run with UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(), f"{case.name} differs from {path}; UPDATE_GOLDEN=1 to accept"
