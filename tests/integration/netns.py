"""Pod-like networking for the config tests; the implementation is shared with the node agent and lives in
:mod:`tests.peers.podnet` (a network namespace per pod on a bridge in a hub namespace, the API server
forwarded to 127.0.0.1 inside each)."""

from __future__ import annotations

from tests.peers.podnet import Forwarder, PodNetwork, available, in_netns, write_service_account

__all__ = ["Forwarder", "PodNetwork", "available", "in_netns", "write_service_account"]
