"""OpenBao version upgrades, as the controller decides them: pure decisions, no I/O (issue 19, groundwork).

Why a package of pure decisions, like :mod:`..backup`: whether a change of ``spec.version`` is an upgrade, a
no-op, a refused downgrade or a safe rollback, and whether one replaced pod is healthy enough to touch the
next, depend only on versions, the status, a few observations of OpenBao and the elapsed time. Keeping them
here, free of clients and of the reconcile's shape, lets them be tested exhaustively before they are wired
into the rollout (which they are not yet: see docs/upgrades.md, a draft).

- :mod:`.versions`: OpenBao versions with pre-release and build suffixes, ordered as SemVer; the skew rules
  (upgrade, no-op, downgrade refused unless allowed, rollback of a stopped upgrade, minor versions skipped);
- :mod:`.gate`: the health gate after each replaced pod (unsealed, joined, caught up, autopilot healthy, a
  voter) with its time bound: wait, ok, or stop with a reason.
"""
