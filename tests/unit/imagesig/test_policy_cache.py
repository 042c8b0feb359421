"""The verdict → controller decision table, and the bounded caches."""

from __future__ import annotations

import pytest

from openbao_operator.imagesig import Failed, FailureReason, NotRequired, Verified, decide
from openbao_operator.imagesig.cache import BoundedCache

D = "sha256:" + "cd" * 32
IMAGE = "quay.io/openbao/openbao:2.4.0"
PINNED = f"quay.io/openbao/openbao@{D}"


def test_verification_off_applies_the_image_as_written_and_removes_the_condition() -> None:
    d = decide(NotRequired(image=IMAGE), "Block")
    assert (d.apply, d.image, d.verified_image, d.condition, d.event, d.retry) == (True, IMAGE, None, None, None, False)


@pytest.mark.parametrize("policy", ["Block", "Warn"])
def test_verified_pins_the_digest_and_records_it(policy: str) -> None:
    verdict = Verified(image=PINNED, digest=D, signer="key sha256:0123", signature_format="cosign-v2")
    d = decide(verdict, policy)  # type: ignore[arg-type]
    assert d.apply
    assert d.image == PINNED
    assert d.verified_image == PINNED
    assert d.condition is not None
    assert (d.condition.status, d.condition.reason) == ("True", "ImageVerified")
    assert d.event is None
    assert d.last_error_reason is None


def test_block_applies_nothing_and_reports_image_verification_failed() -> None:
    verdict = Failed(reason=FailureReason.SIGNATURE_MISMATCH, message="none verifies", image=IMAGE, digest=D)
    d = decide(verdict, "Block")
    assert not d.apply
    assert d.image is None
    assert d.verified_image is None
    assert d.last_error_reason == "ImageVerificationFailed"
    assert d.condition is not None
    assert (d.condition.status, d.condition.reason) == ("False", "ImageVerificationFailed")
    assert d.event is not None
    assert (d.event.type, d.event.reason) == ("Warning", "ImageVerificationFailed")
    assert "SignatureMismatch" in d.event.message
    assert d.retry


def test_warn_applies_the_resolved_digest_with_a_warning() -> None:
    verdict = Failed(reason=FailureReason.NO_SIGNATURES, message="unsigned", image=IMAGE, digest=D)
    d = decide(verdict, "Warn")
    assert d.apply
    assert d.image == PINNED
    assert d.verified_image is None
    assert d.last_error_reason is None
    assert d.event is not None
    assert d.event.type == "Warning"
    assert d.condition is not None
    assert d.condition.status == "False"
    assert d.retry


def test_warn_without_a_resolved_digest_applies_the_image_as_written() -> None:
    verdict = Failed(reason=FailureReason.REGISTRY_UNAVAILABLE, message="down", image=IMAGE)
    d = decide(verdict, "Warn")
    assert d.image == IMAGE
    assert d.retry


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("quay.io/a/b:v1", f"quay.io/a/b@{D}"),
        ("localhost:5000/a", f"localhost:5000/a@{D}"),
        (f"localhost:5000/a:v1@{'sha256:' + 'ef' * 32}", f"localhost:5000/a@{D}"),
        ("openbao/openbao", f"openbao/openbao@{D}"),
    ],
)
def test_failed_pinned_keeps_the_name_as_written(image: str, pinned: str) -> None:
    assert Failed(reason=FailureReason.NO_SIGNATURES, message="", image=image, digest=D).pinned == pinned


def test_only_registry_outages_are_transient() -> None:
    assert [r for r in FailureReason if r.transient] == [FailureReason.REGISTRY_UNAVAILABLE]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_cache_is_bounded_lru() -> None:
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None
    assert cache.get("a") == 1
    assert cache.get("c") == 3
    assert len(cache) == 2
    with pytest.raises(ValueError, match="maxsize"):
        BoundedCache(0)


def test_cache_ttl_follows_the_injected_clock() -> None:
    clock = Clock()
    cache: BoundedCache[str, str] = BoundedCache(8, ttl=300, clock=clock)
    cache.put("tag", "digest-1")
    clock.now = 299.9
    assert cache.get("tag") == "digest-1"
    clock.now = 300
    assert cache.get("tag") is None
    assert len(cache) == 0
