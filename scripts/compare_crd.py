"""Print every difference between the reference operator's CRD and this operator's (see tests/crd_diff.py).

Each difference is shown with the reason docs/compatibility.md gives for it ("CRD differences"), or as NOT
LISTED; rows of the doc that match no difference are printed as stale. Exit status 1 when anything is
unlisted or stale (tests/unit/api/test_reference_crd.py fails then too).
Usage: uv run python scripts/compare_crd.py            # every difference, with its reason
       uv run python scripts/compare_crd.py --unlisted # only what the doc does not name
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.crd_diff import differences, load_allowed, load_reference, spec_schema

from openbao_operator.api.crd import crd


def report(*, unlisted_only: bool) -> int:
    diffs = differences(load_reference(), spec_schema(crd()))
    allowed = load_allowed()
    unlisted = 0
    for diff in diffs:
        reasons = [a.reason for a in allowed if a.matches(diff)]
        unlisted += not reasons
        if reasons and unlisted_only:
            continue
        print(f"{diff}\n    -> {reasons[0] if reasons else 'NOT LISTED in docs/compatibility.md'}")
    unused = [a for a in allowed if not any(a.matches(d) for d in diffs)]
    for a in unused:
        print(f"listed but no such difference: `{a.pattern}` {a.kind}")
    print(f"{len(diffs)} differences, {unlisted} not listed, {len(unused)} stale rows", file=sys.stderr)
    return 1 if unlisted or unused else 0


if __name__ == "__main__":
    sys.exit(report(unlisted_only="--unlisted" in sys.argv[1:]))
