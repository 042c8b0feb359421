"""Pure rendering: (cluster spec, observed facts) -> desired state (config.hcl, objects, hashes).

No I/O, no clock, no randomness: whatever varies is passed in, so the output is reproducible and testable.
"""
