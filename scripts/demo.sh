#!/usr/bin/env bash
# The main job, one command: set up, start a local control plane (the test peers) and the node agent (pods run
# as real `bao`), install the CRD and the operator's RBAC from deploy/, run the operator as its own
# ServiceAccount, apply examples/cluster.yaml, show progress as objects and conditions appear, print a summary,
# then OpenBao answering (bao status, raft peers, a secret written and read back). Cleans up on exit.
#   bash scripts/demo.sh            # run until Ctrl-C
#   bash scripts/demo.sh --once     # exit after convergence
#   bash scripts/demo.sh --once --in-cluster   # the operator from its image, installed with helm, in a pod
# Other options: --keep (keep logs), --dir DIR, -f MANIFEST, --timeout SECONDS, --kwok (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/setup.sh

echo "== test peers (built on first use; see docs/test-peers.md)"
uv run --frozen python -m tests.peers.install

exec uv run --frozen python -m scripts.demo "$@"
