"""Certificate material and rotation decisions, with injected clock and randomness; never talks to the API.
"""
