"""What the controller does with a verdict, as a pure function: `decide(verdict, failure_policy)`.

- ``NotRequired``: apply the image as written; no ImageVerified condition (remove it), clear
  status.verifiedImageDigest.
- ``Verified``: apply ``verdict.image`` (`name@sha256:...`, so a moved tag cannot swap the image later),
  record it in status.verifiedImageDigest, condition ImageVerified=True.
- ``Failed`` under **Block**: apply nothing that would run the image (the StatefulSet is neither created
  nor updated, the rollout step replaces no pod; running pods keep the digest status already records),
  condition ImageVerified=False and workload.lastError with reason ImageVerificationFailed, a Warning
  Event, and a retry with the runtime's per-key backoff (1 s doubling to 5 min; a registry that comes back is
  seen again within the current delay, and one that is down is not hammered).
- ``Failed`` under **Warn**: apply anyway, pinned to the resolved digest when the tag got that far (what
  runs is what was checked and warned about), else the image as written; a Warning Event, condition
  ImageVerified=False, status.verifiedImageDigest cleared, and a retry with backoff so a signature
  pushed later turns the condition True.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .verdict import Failed, NotRequired, Verdict, Verified

REASON_FAILED = "ImageVerificationFailed"
REASON_VERIFIED = "ImageVerified"
CONDITION_TYPE = "ImageVerified"

FailurePolicy = Literal["Warn", "Block"]


@dataclass(frozen=True)
class ConditionOutcome:
    """The ImageVerified condition to set (type is :data:`CONDITION_TYPE`)."""

    status: Literal["True", "False"]
    reason: str
    message: str


@dataclass(frozen=True)
class EventOutcome:
    """An Event to emit on the OpenBaoCluster."""

    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass(frozen=True)
class ImageDecision:
    """The controller's instructions for this reconcile."""

    apply: bool
    """False: apply nothing that would run the image this pass (Block on failure)."""
    image: str | None
    """The image for the pod template when ``apply``; None otherwise."""
    verified_image: str | None
    """The value for status.verifiedImageDigest; None means clear it (when ``apply``) or leave it (when not)."""
    condition: ConditionOutcome | None
    """The ImageVerified condition to set; None means remove it (verification off)."""
    event: EventOutcome | None
    """An Event to emit (failures only; the runtime aggregates repeats)."""
    last_error_reason: str | None
    """workload.lastError.reason to record (Block failures), with ``condition.message`` as the message."""
    retry: bool
    """Requeue with backoff even though nothing else changes."""


def decide(verdict: Verdict, failure_policy: FailurePolicy) -> ImageDecision:
    """Turn a verdict into what the controller applies, records and reports."""
    if isinstance(verdict, NotRequired):
        return ImageDecision(
            apply=True,
            image=verdict.image,
            verified_image=None,
            condition=None,
            event=None,
            last_error_reason=None,
            retry=False,
        )
    if isinstance(verdict, Verified):
        return ImageDecision(
            apply=True,
            image=verdict.image,
            verified_image=verdict.image,
            condition=ConditionOutcome(
                status="True",
                reason=REASON_VERIFIED,
                message=f"{verdict.image} is signed by {verdict.signer} ({verdict.signature_format})",
            ),
            event=None,
            last_error_reason=None,
            retry=False,
        )
    return _failed(verdict, failure_policy)


def _failed(verdict: Failed, failure_policy: FailurePolicy) -> ImageDecision:
    cause = f"{verdict.reason.value}: {verdict.message}"
    if failure_policy == "Block":
        message = f"blocked {verdict.image}: {cause}"
        return ImageDecision(
            apply=False,
            image=None,
            verified_image=None,
            condition=ConditionOutcome(status="False", reason=REASON_FAILED, message=message),
            event=EventOutcome(type="Warning", reason=REASON_FAILED, message=message),
            last_error_reason=REASON_FAILED,
            retry=True,
        )
    image = verdict.pinned or verdict.image
    message = f"applied {image} unverified (failurePolicy Warn): {cause}"
    return ImageDecision(
        apply=True,
        image=image,
        verified_image=None,
        condition=ConditionOutcome(status="False", reason=REASON_FAILED, message=message),
        event=EventOutcome(type="Warning", reason=REASON_FAILED, message=message),
        last_error_reason=None,
        retry=True,
    )
