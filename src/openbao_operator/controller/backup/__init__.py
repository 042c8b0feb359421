"""Backups and restores, as the controller decides them: pure decisions, no I/O.

Why a package of pure decisions: what a backup or restore step does in a pass (start an executor Job, wait,
record the outcome, take or release the operation lock) depends only on the spec, the status, the observed
Job and the clock. Keeping those decisions here, free of the reconcile's shape and of any client, lets them be
tested exhaustively and wired into the step list as a thin I/O layer (apply the Job, patch the status,
record the Events the decision names). The bytes never pass through the operator: the executor Job
(``openbao-operator backup|restore``, rendered by :mod:`openbao_operator.render.workload.executor_job`)
moves them.

- :mod:`.cron`: ``spec.backup.schedule`` (5-field cron in a time zone), next and previous slots, and the
  per-cluster jitter;
- :mod:`.lock`: the operation lock in ``status.operationLock`` (acquire, renew, release, stale takeover);
- :mod:`.jobs`: what an executor Job's status says (running, succeeded, failed, and why);
- :mod:`.plan`: one backup pass (pre-flight, schedule, manual trigger, outcome, status.backup);
- :mod:`.restore`: one pass of an ``OpenBaoRestore`` (Pending, Validating, Running, Completed, Failed).
"""
