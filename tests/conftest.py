"""Every test run under tests/: the skip policy (tests/skip_policy.py) applies to unit and integration tests."""

pytest_plugins = ["tests.skip_policy"]
