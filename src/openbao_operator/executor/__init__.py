"""The backup and restore executors: the code that runs inside a Job and moves raft snapshots.

Why a package of its own: snapshot bytes never pass through the operator. An executor Job runs
``openbao-operator backup`` or ``restore`` from the operator image with its own ServiceAccount; this package
is that program. It logs in to OpenBao with a short-lived token (JWT auth with the Job's projected
ServiceAccount token, or a token from a mounted Secret), streams the snapshot between OpenBao and object
storage with bounded memory, and checks a SHA-256 before a restore sends anything. It talks to OpenBao only
through :mod:`openbao_operator.baoapi` and to object storage only through :mod:`.storage` (the one module that
imports obstore); it holds no Kubernetes client (layer contracts in pyproject.toml).
"""
