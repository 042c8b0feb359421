"""The operation lock in ``status.operationLock``: one long-running operation on a cluster at a time.

Why in status (as the reference operator keeps it): a backup, a restore and an upgrade each take minutes and
must not overlap (a snapshot taken while a restore replaces the data is neither the old nor the new state;
a restore during a rollout may land on a node that is being replaced). The status subresource is written
with the cluster's resourceVersion, so two writers cannot both take the lock; and it survives an operator
restart, unlike anything held in memory.

Rules (pure; the caller writes the lock it is given back):
- a free cluster is locked by the first operation that asks (``acquiredAt`` = ``renewedAt`` = now);
- the holder asking again renews it, at most every :data:`RENEW_EVERY` (so a long Job costs one status write
  per five minutes, an idle cluster none);
- another holder is refused with a message that names the operation, the holder and since when, unless the
  lock is **stale**: not renewed for :data:`STALE_AFTER` *and* its holder is gone (its Job or its
  OpenBaoRestore no longer exists). Both are needed: a holder is briefly without its Job between taking the
  lock and creating the Job, and a live holder may simply not have been reconciled for a while;
- a restore with ``overrideOperationLock`` (which the API allows only with ``force``) takes it over anyway;
- only the holder releases it.
A lock that is taken over is returned in ``taken_over`` so the caller can record a Warning Event naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from openbao_operator.api.status import ClusterOperation, OperationLockStatus

from ..conditions import rfc3339
from .jobs import parse_time

RENEW_EVERY = timedelta(minutes=5)
STALE_AFTER = timedelta(minutes=30)
BACKUP_HOLDER = "backup/"
RESTORE_HOLDER = "restore/"


def backup_holder(job_name: str) -> str:
    return BACKUP_HOLDER + job_name


def restore_holder(restore_name: str) -> str:
    return RESTORE_HOLDER + restore_name


@dataclass(frozen=True)
class LockDecision:
    granted: bool
    lock: OperationLockStatus | None
    """The lock to write (the current one when nothing changes)."""
    changed: bool
    """Whether ``lock`` differs from the current one (a status write is needed)."""
    message: str
    """Why, for a condition or an Event."""
    taken_over: OperationLockStatus | None = None
    """A stale or overridden lock this decision replaced."""


def make_lock(
    *,
    operation: ClusterOperation,
    holder: str,
    message: str | None = None,
    acquired_at: str | None = None,
    renewed_at: str | None = None,
) -> OperationLockStatus:
    """An OperationLockStatus from Python names (the model itself is built from its JSON names)."""
    return OperationLockStatus().model_copy(
        update={
            "operation": operation,
            "holder": holder,
            "message": message,
            "acquired_at": acquired_at,
            "renewed_at": renewed_at,
        }
    )


def describe(lock: OperationLockStatus) -> str:
    since = f" since {lock.acquired_at}" if lock.acquired_at else ""
    return f"{lock.operation or 'an operation'} ({lock.holder or 'unknown holder'}){since}"


def is_stale(lock: OperationLockStatus, *, now: datetime, holder_alive: bool | None) -> bool:
    """Not renewed for STALE_AFTER and its holder is gone (``holder_alive`` None: unknown, age alone decides)."""
    renewed = parse_time(lock.renewed_at) or parse_time(lock.acquired_at)
    old = renewed is None or now - renewed > STALE_AFTER
    return old and holder_alive is not True


def acquire(
    current: OperationLockStatus | None,
    *,
    operation: ClusterOperation,
    holder: str,
    message: str,
    now: datetime,
    holder_alive: bool | None = None,
    override: bool = False,
) -> LockDecision:
    """Take, renew, or be refused the lock (``holder_alive``: does the current holder still exist?)."""
    stamp = rfc3339(now)
    fresh = make_lock(operation=operation, holder=holder, message=message, acquired_at=stamp, renewed_at=stamp)
    if current is None or not current.holder:
        return LockDecision(True, fresh, True, f"{operation} took the operation lock")
    if current.holder == holder:
        renewed = parse_time(current.renewed_at)
        if renewed is not None and now - renewed < RENEW_EVERY and current.message == message:
            return LockDecision(True, current, False, f"{operation} holds the operation lock")
        kept = current.model_copy(update={"renewed_at": stamp, "message": message})
        return LockDecision(True, kept, True, f"{operation} holds the operation lock")
    if override:
        return LockDecision(
            True, fresh, True, f"{operation} took over the operation lock held by {describe(current)}", current
        )
    if is_stale(current, now=now, holder_alive=holder_alive):
        return LockDecision(
            True,
            fresh,
            True,
            f"{operation} took over a stale operation lock: {describe(current)} was not renewed for "
            f"{int(STALE_AFTER.total_seconds() // 60)} minutes and its holder is gone",
            current,
        )
    return LockDecision(False, current, False, f"the cluster is locked by {describe(current)}; {operation} waits")


def release(current: OperationLockStatus | None, *, holder: str) -> LockDecision:
    """Free the lock if ``holder`` has it; anyone else's lock is left alone."""
    if current is None or current.holder != holder:
        return LockDecision(False, current, False, "not the holder")
    return LockDecision(True, None, True, f"{current.operation} released the operation lock")
