"""The image step: verify the image the StatefulSet would run, before anything can run it.

Why here, before rendering: a verified image is pinned as ``repo@sha256:...`` into the render facts, so
the pod template carries exactly what was checked (a tag moved later cannot swap it). With verification
off nothing is fetched from any registry (``ImageVerifier.verify`` answers NotRequired at once). The
decision table is imagesig's (``decide``); this module gathers the pull secrets and the trusted root
(``trustedRootConfigMapRef``, key ``trusted_root.json``; without one, keyless verification uses the
embedded public-good Sigstore root, imagesig.public_good) and returns the decision.

The user's ConfigMap carries none of this operator's labels, so the informers do not see it: it is read
by a direct GET, like the pull secrets. Without a reference the verifier uses the embedded root (the
ImageVerified condition names whichever root was used); a named ConfigMap that is missing, or lacks the
key, is a configuration problem naming the field, never a silent fallback.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from openbao_operator.api import OpenBaoCluster, names
from openbao_operator.api.workload import ImageVerificationConfig
from openbao_operator.imagesig import TRUSTED_ROOT_KEY, Failed, FailureReason, ImageDecision, Verdict, decide
from openbao_operator.kube import ObjectKey

from .kinds import CONFIGMAP, SECRET
from .sources import Reader
from .step import Report
from .tls import secret_data


class Verifier(Protocol):
    """``imagesig.ImageVerifier`` as the reconcile uses it (tests may pass a stand-in)."""

    async def verify(
        self,
        image: str,
        config: ImageVerificationConfig | None,
        *,
        pull_secrets: Sequence[Mapping[str, bytes | str]] = (),
        trusted_root: bytes | str | None = None,
    ) -> Verdict: ...


def wanted_image(cluster: OpenBaoCluster) -> str:
    """The image render puts into the pod template when no verified digest is pinned."""
    return cluster.spec.image or names.default_image(cluster)


async def check_image(cluster: OpenBaoCluster, *, verifier: Verifier, reader: Reader, namespace: str) -> ImageDecision:
    config = cluster.spec.image_verification
    secrets: list[Mapping[str, bytes | str]] = []
    trusted_root: bytes | str | None = None
    if config is not None and config.enabled:
        for ref in config.image_pull_secrets or ():
            if not ref.name:
                continue  # names nothing (reported in FieldsIgnored)
            data = secret_data(await reader.get(SECRET, ObjectKey(namespace, ref.name), direct=True))
            if data is not None:
                secrets.append(data)
        root_ref = config.trusted_root_config_map_ref
        if root_ref is not None and root_ref.name:
            key = ObjectKey(namespace, root_ref.name)
            trusted_root = _trusted_root(await reader.get(CONFIGMAP, key, direct=True))
            if trusted_root is None:
                # Named but not there: never fall back to the embedded root the user chose not to use.
                missing = Failed(
                    reason=FailureReason.INVALID_CONFIGURATION,
                    message=f"spec.imageVerification.trustedRootConfigMapRef: ConfigMap {root_ref.name} has no key "
                    f"{TRUSTED_ROOT_KEY} (or does not exist)",
                    image=wanted_image(cluster),
                )
                return decide(missing, config.failure_policy)
    verdict = await verifier.verify(wanted_image(cluster), config, pull_secrets=secrets, trusted_root=trusted_root)
    policy = config.failure_policy if config is not None else "Block"
    return decide(verdict, policy)


def _trusted_root(config_map: Mapping[str, Any] | None) -> bytes | str | None:
    """The ConfigMap's `trusted_root.json`, from `data` (what `kubectl create configmap --from-file` writes)
    or `binaryData`; None when the ConfigMap or the key is missing."""
    if config_map is None:
        return None
    text = (config_map.get("data") or {}).get(TRUSTED_ROOT_KEY)
    if isinstance(text, str):
        return text
    encoded = (config_map.get("binaryData") or {}).get(TRUSTED_ROOT_KEY)
    if isinstance(encoded, str):
        try:
            return base64.b64decode(encoded, validate=True)
        except ValueError:
            return None
    return None


def image_report(decision: ImageDecision) -> Report:
    """What the image decision means for the pass: its Event, holding the StatefulSet back, a retry."""
    out = Report()
    if decision.event is not None:
        out.event(decision.event.type, decision.event.reason, "VerifyImage", decision.event.message)
    if not decision.apply:
        out.hold_statefulset = True
    if decision.last_error_reason is not None and decision.condition is not None:
        out.problem(decision.last_error_reason, decision.condition.message)
    if decision.retry:
        out.backoff = True
    return out
