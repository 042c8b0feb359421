"""Real test peers: pinned versions, their installer and helpers that start and stop them.

The integration tests run against real programs (etcd, kube-apiserver, kube-controller-manager, kwok,
`bao`, a registry, crane, cosign) instead of mocks. This package knows where the installer put them
(:mod:`tests.peers.pins`), how to build them (:mod:`tests.peers.install`) and how to run them on loopback
(:mod:`tests.peers.procs`, :mod:`tests.peers.controlplane`, :mod:`tests.peers.bao`,
:mod:`tests.peers.registry`).
"""
