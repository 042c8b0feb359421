"""OpenBao versions and the skew rules for a change of ``spec.version``.

Why here and not :mod:`openbao_operator.api.versions`: that module's ``parse_version`` folds a pre-release
into its release (``2.7.0-rc1`` -> ``(2, 7, 0)``), which is right for the feature gates (a release candidate
has its release's options) and wrong for upgrades (``2.7.0-rc1`` -> ``2.7.0`` is an upgrade, the reverse a
downgrade). So this module parses the whole version, ordered as SemVer 2.0.0: pre-release identifiers
compared one by one (numeric ones numerically and below alphanumeric ones, a shorter list first), a
pre-release below its release, build metadata ignored for order.

The rules, and the OpenBao facts behind them (sources in docs/upgrades.md):
- same version (build metadata aside): nothing to upgrade;
- a higher version: an upgrade. Skipping minor versions is allowed: OpenBao's upgrade guide says large jumps
  are supported and that the upgrade notes of every intervening version must be reviewed, so the decision
  carries a warning naming the minors crossed (and a major change a warning of its own). No OpenBao upgrade
  note known here requires stopping at an intermediate version; :data:`REQUIRED_STOPS` is where one would go,
  and an upgrade that skips one is refused;
- a lower version: a downgrade, refused. OpenBao makes no backward-compatibility promise for its data
  ("simply replacing the binary with the previous version will not cleanly downgrade"), and the reference
  operator blocks downgrades with no way around it. Two exceptions: the annotation
  :data:`ALLOW_DOWNGRADE_ANNOTATION` naming exactly the target version (a deliberate, one-version consent,
  since the reference has no field for it), and the **rollback** of a stopped upgrade back to its
  ``from`` version while no pod of the new version has been the active node: OpenBao runs its internal
  upgrade tasks only when an upgraded node takes over active duty, so until then the Raft data is still the
  old version's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import total_ordering
from typing import Final

ALLOW_DOWNGRADE_ANNOTATION: Final = "openbao.org/allow-downgrade-to"
"""On the OpenBaoCluster: the one target version a downgrade is allowed to (``2.6.2``); any other value
allows nothing. Proposed here: the reference operator has no such field or annotation."""

REQUIRED_STOPS: Final[Mapping[tuple[int, int], str]] = {}
"""``(major, minor)`` -> why an upgrade must stop at that minor version before going past it. Empty: OpenBao's
upgrade guide supports large jumps and no version's upgrade notes (as of 2.7.x) require a stop."""

_VERSION = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)


@total_ordering
@dataclass(frozen=True)
class OpenBaoVersion:
    """``MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]``; equality and order ignore ``build`` (SemVer precedence)."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: str = field(default="", compare=False)

    @property
    def core(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def _key(self) -> tuple[tuple[int, int, int], int, tuple[tuple[int, int, str], ...]]:
        # A release sorts after every pre-release of it; numeric identifiers sort below alphanumeric ones.
        ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (self.core, 0 if self.prerelease else 1, ids)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, OpenBaoVersion):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        text = ".".join(map(str, self.core))
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + self.build
        return text


def parse(text: str) -> OpenBaoVersion | None:
    """``2.7.2``, ``v2.7.2``, ``2.7.0-rc.1``, ``2.7.99-broken``, ``2.7.2+build.5``; None if not a version."""
    m = _VERSION.match(text.strip())
    if m is None:
        return None
    pre = tuple(m[4].split(".")) if m[4] else ()
    return OpenBaoVersion(int(m[1]), int(m[2]), int(m[3]), pre, m[5] or "")


class Change(StrEnum):
    """What a change of ``spec.version`` is."""

    NONE = "None"
    """Nothing to upgrade: the same version (build metadata aside), or the first version of a new cluster."""
    UPGRADE = "Upgrade"
    ROLLBACK = "Rollback"
    """Back to the ``from`` version of a stopped upgrade while the Raft data is still that version's."""
    DOWNGRADE = "Downgrade"
    """A lower version, allowed by the annotation naming it."""
    REFUSED = "Refused"
    """Not done: a downgrade without consent, a skipped required stop, or a version that does not parse."""


@dataclass(frozen=True)
class InProgress:
    """The upgrade the status says is under way (``status.upgrade``), as far as the skew rules need it."""

    from_version: str
    to_version: str
    new_version_was_active: bool
    """Whether a pod of ``to_version`` has been the active node (OpenBao then may have migrated the data)."""


@dataclass(frozen=True)
class VersionDecision:
    change: Change
    from_version: str | None
    """The version the cluster runs (``status.currentVersion``, else the lowest version its pods run)."""
    to_version: str
    reason: str
    """A CamelCase reason for a condition or an Event (``UpgradeRequested``, ``DowngradeRefused``, ...)."""
    message: str
    warnings: tuple[str, ...] = ()
    """Things to say without stopping (minor versions skipped, a major change), for Events and the log."""

    @property
    def proceeds(self) -> bool:
        """Whether a rollout to ``to_version`` may start (or go on)."""
        return self.change in (Change.UPGRADE, Change.ROLLBACK, Change.DOWNGRADE)


def running_version(*, current: str | None, pod_versions: Iterable[str]) -> str | None:
    """The version the cluster runs: ``status.currentVersion`` when set (it moves only when every pod runs the
    new version), else the lowest parseable version its pods report (an interrupted upgrade runs both)."""
    if current:
        return current
    parsed = sorted((v, text) for text in pod_versions if (v := parse(text)) is not None)
    return parsed[0][1] if parsed else None


def minors_crossed(old: OpenBaoVersion, new: OpenBaoVersion) -> list[tuple[int, int]]:
    """The minor versions strictly between ``old`` and ``new`` within one major (none across majors)."""
    if old.major != new.major:
        return []
    return [(old.major, m) for m in range(old.minor + 1, new.minor)]


def decide(
    *,
    target: str,
    current: str | None,
    pod_versions: Iterable[str] = (),
    in_progress: InProgress | None = None,
    allow_downgrade_to: str | None = None,
    required_stops: Mapping[tuple[int, int], str] = REQUIRED_STOPS,
) -> VersionDecision:
    """What changing to ``target`` (``spec.version``) means for a cluster running ``current`` (see the module
    docstring). ``allow_downgrade_to`` is the value of :data:`ALLOW_DOWNGRADE_ANNOTATION`, if any."""
    source = running_version(current=current, pod_versions=pod_versions)
    new = parse(target)
    if new is None:
        return VersionDecision(
            Change.REFUSED, source, target, "InvalidVersion", f"spec.version {target!r} is not an OpenBao version"
        )
    if source is None:
        return VersionDecision(Change.NONE, None, target, "InitialVersion", f"the cluster starts at {target}")
    old = parse(source)
    if old is None:
        return VersionDecision(
            Change.REFUSED,
            source,
            target,
            "InvalidVersion",
            f"the running version {source!r} is not an OpenBao version; set status.currentVersion by hand",
        )
    if new == old:
        return VersionDecision(Change.NONE, source, target, "UpToDate", f"the cluster runs {target}")
    if new < old:
        return _lower(source, target, new, in_progress=in_progress, allow_downgrade_to=allow_downgrade_to)
    return _higher(source, target, old, new, required_stops=required_stops)


def _higher(
    source: str,
    target: str,
    old: OpenBaoVersion,
    new: OpenBaoVersion,
    *,
    required_stops: Mapping[tuple[int, int], str],
) -> VersionDecision:
    crossed = minors_crossed(old, new)
    stops = [(mm, required_stops[mm]) for mm in crossed if mm in required_stops]
    if stops:
        (major, minor), why = stops[0]
        return VersionDecision(
            Change.REFUSED,
            source,
            target,
            "RequiredStopSkipped",
            f"upgrade from {source} to {target} skips {major}.{minor}, where OpenBao requires a stop ({why}): "
            f"upgrade to {major}.{minor}.x first",
        )
    warnings: list[str] = []
    if crossed:
        names = ", ".join(f"{a}.{b}" for a, b in crossed)
        warnings.append(
            f"upgrade from {source} to {target} skips minor version(s) {names}: OpenBao supports the jump, "
            "but the upgrade notes of each of them apply; review them before going on"
        )
    if new.major != old.major:
        warnings.append(f"upgrade from {source} to {target} changes the major version; review its upgrade notes")
    if new.prerelease:
        warnings.append(f"{target} is a pre-release")
    return VersionDecision(
        Change.UPGRADE, source, target, "UpgradeRequested", f"upgrade from {source} to {target}", tuple(warnings)
    )


def _lower(
    source: str,
    target: str,
    new: OpenBaoVersion,
    *,
    in_progress: InProgress | None,
    allow_downgrade_to: str | None,
) -> VersionDecision:
    if in_progress is not None and parse(in_progress.from_version) == new:
        if not in_progress.new_version_was_active:
            return VersionDecision(
                Change.ROLLBACK,
                source,
                target,
                "RollbackRequested",
                f"roll back the stopped upgrade to {in_progress.to_version}: back to {target}; no pod of "
                f"{in_progress.to_version} has been active, so the Raft data is still {target}'s",
            )
        restore = (
            f"a pod of {in_progress.to_version} has been the active node, so OpenBao may have migrated the data: "
            f"restore the pre-upgrade snapshot (taken at {target}) with an OpenBaoRestore to go back"
        )
    else:
        restore = "OpenBao does not promise that an older version reads newer data; restore a snapshot of that version"
    allowed = allow_downgrade_to is not None and parse(allow_downgrade_to) == new
    if allowed:
        return VersionDecision(
            Change.DOWNGRADE,
            source,
            target,
            "DowngradeAllowed",
            f"downgrade from {source} to {target}, allowed by {ALLOW_DOWNGRADE_ANNOTATION}",
            (f"downgrading from {source} to {target}: {restore}",),
        )
    return VersionDecision(
        Change.REFUSED,
        source,
        target,
        "DowngradeRefused",
        f"spec.version {target} is lower than the running {source}; downgrades are refused ({restore}). To "
        f"downgrade anyway, annotate the cluster {ALLOW_DOWNGRADE_ANNOTATION}={target}",
    )
