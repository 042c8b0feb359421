#!/usr/bin/env bash
# The whole test suite, from a fresh machine: tools, quality gates, then pytest.
# README's test command and .ci/run both run exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/setup.sh

echo "== ruff check";          uv run --frozen ruff check .
echo "== ruff format --check"; uv run --frozen ruff format --check .
echo "== mypy --strict";       uv run --frozen mypy
echo "== import-linter";       uv run --frozen lint-imports

echo "== test peers (pinned in peers/versions.toml; the first run builds them, see docs/test-peers.md)"
if [ "${PEERS_BUILD:-1}" != "0" ]; then
  uv run --frozen python -m tests.peers.install
else
  echo "PEERS_BUILD=0: peers not installed; tests needing a missing peer fail (OPENBAO_TESTS_ALLOW_SKIP=1 skips them)"
fi

echo "== pytest"
set +e
uv run --frozen pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing the run on purpose" >&2
  exit 1
fi
exit "$rc"
