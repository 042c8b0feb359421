"""Integration tests against real peers (see docs/test-peers.md)."""
