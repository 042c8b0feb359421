"""Test suite package; a package so that `python -m tests.peers.install` and `tests.peers` imports work."""
