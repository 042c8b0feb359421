"""The version skew rules of an upgrade (controller/upgrade/versions.py): parse, order, decide."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbao_operator.controller.upgrade.versions import (
    ALLOW_DOWNGRADE_ANNOTATION,
    REQUIRED_STOPS,
    Change,
    InProgress,
    OpenBaoVersion,
    decide,
    minors_crossed,
    parse,
    running_version,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2.7.2", OpenBaoVersion(2, 7, 2)),
        ("v2.6.2", OpenBaoVersion(2, 6, 2)),
        (" 2.7.0-rc.1 ", OpenBaoVersion(2, 7, 0, ("rc", "1"))),
        ("2.7.99-broken", OpenBaoVersion(2, 7, 99, ("broken",))),
        ("2.7.2+build.5", OpenBaoVersion(2, 7, 2, (), "build.5")),
        ("2.7.0-beta1+exp.sha.5114f85", OpenBaoVersion(2, 7, 0, ("beta1",), "exp.sha.5114f85")),
    ],
)
def test_parse(text: str, expected: OpenBaoVersion) -> None:
    got = parse(text)
    assert got == expected
    assert got is not None
    assert got.build == expected.build


@pytest.mark.parametrize("text", ["", "2.7", "2.7.2.1", "02.7.2", "2.7.2-", "2.7.2-01", "latest", "2.7.2+", "x2.7.2"])
def test_parse_refuses(text: str) -> None:
    assert parse(text) is None


def test_str_round_trips() -> None:
    for text in ("2.7.2", "2.7.0-rc.1", "2.7.2+build.5", "2.7.0-beta1+exp"):
        assert str(parse(text)) == text


def test_semver_precedence() -> None:
    # SemVer 2.0.0 section 11's own example, then OpenBao-shaped ones.
    chain = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11"]
    chain += ["1.0.0-rc.1", "1.0.0", "2.6.1", "2.6.2", "2.7.0-rc1", "2.7.0", "2.7.2", "2.7.99-broken", "2.7.99"]
    parsed = [parse(t) for t in chain]
    assert all(p is not None for p in parsed)
    assert parsed == sorted(parsed)  # type: ignore[type-var]
    assert len(set(parsed)) == len(parsed)
    assert parse("2.7.2+a") == parse("2.7.2+b")  # build metadata does not order


versions = st.builds(
    OpenBaoVersion,
    st.integers(0, 3),
    st.integers(0, 9),
    st.integers(0, 9),
    st.lists(
        st.one_of(st.integers(0, 20).map(str), st.sampled_from(["rc", "beta", "alpha", "broken"])), max_size=3
    ).map(tuple),
)


@given(versions, versions)
def test_order_is_total_and_consistent(a: OpenBaoVersion, b: OpenBaoVersion) -> None:
    assert (a < b) + (b < a) + (a == b) == 1
    assert parse(str(a)) == a


@given(versions, versions)
def test_decide_is_antisymmetric(a: OpenBaoVersion, b: OpenBaoVersion) -> None:
    up = decide(target=str(b), current=str(a))
    down = decide(target=str(a), current=str(b))
    if a == b:
        assert up.change is down.change is Change.NONE
    elif a < b:
        assert up.change is Change.UPGRADE
        assert down.change is Change.REFUSED
    else:
        assert up.change is Change.REFUSED
        assert down.change is Change.UPGRADE


def test_no_op_and_initial() -> None:
    assert decide(target="2.7.2", current="2.7.2").change is Change.NONE
    assert decide(target="v2.7.2", current="2.7.2+rebuild").change is Change.NONE
    first = decide(target="2.7.2", current=None)
    assert (first.change, first.reason, first.proceeds) == (Change.NONE, "InitialVersion", False)


def test_upgrade_patch_and_minor() -> None:
    d = decide(target="2.7.2", current="2.6.2")
    assert (d.change, d.reason, d.from_version, d.to_version, d.warnings) == (
        Change.UPGRADE,
        "UpgradeRequested",
        "2.6.2",
        "2.7.2",
        (),
    )
    assert d.proceeds
    assert decide(target="2.7.2", current="2.7.0").warnings == ()


def test_skipping_minors_warns_and_proceeds() -> None:
    d = decide(target="2.7.2", current="2.4.1")
    assert d.change is Change.UPGRADE
    assert len(d.warnings) == 1
    assert "2.5, 2.6" in d.warnings[0]
    assert "upgrade notes" in d.warnings[0]
    assert minors_crossed(parse("2.4.1"), parse("2.7.2")) == [(2, 5), (2, 6)]  # type: ignore[arg-type]


def test_a_major_change_and_a_pre_release_warn() -> None:
    d = decide(target="3.0.0-rc.1", current="2.7.2")
    assert d.change is Change.UPGRADE
    assert any("major" in w for w in d.warnings)
    assert any("pre-release" in w for w in d.warnings)


def test_a_required_stop_refuses_the_skip() -> None:
    stops = {(2, 6): "a storage migration"}
    d = decide(target="2.7.2", current="2.5.0", required_stops=stops)
    assert (d.change, d.reason) == (Change.REFUSED, "RequiredStopSkipped")
    assert "2.6" in d.message
    assert "a storage migration" in d.message
    assert decide(target="2.7.2", current="2.6.0", required_stops=stops).change is Change.UPGRADE  # via the stop
    assert not REQUIRED_STOPS  # no OpenBao upgrade note known here requires one (docs/upgrades.md)


def test_downgrade_is_refused_naming_the_way_out() -> None:
    d = decide(target="2.6.2", current="2.7.2")
    assert (d.change, d.reason, d.proceeds) == (Change.REFUSED, "DowngradeRefused", False)
    assert f"{ALLOW_DOWNGRADE_ANNOTATION}=2.6.2" in d.message
    # A release to its own pre-release is a downgrade too.
    assert decide(target="2.7.2-rc.1", current="2.7.2").change is Change.REFUSED


def test_downgrade_allowed_only_to_the_version_named() -> None:
    d = decide(target="2.6.2", current="2.7.2", allow_downgrade_to="2.6.2")
    assert (d.change, d.reason, d.proceeds) == (Change.DOWNGRADE, "DowngradeAllowed", True)
    assert d.warnings
    assert "snapshot" in d.warnings[0]
    assert decide(target="2.6.1", current="2.7.2", allow_downgrade_to="2.6.2").change is Change.REFUSED
    assert decide(target="2.6.2", current="2.7.2", allow_downgrade_to="yes").change is Change.REFUSED


def test_rollback_of_a_stopped_upgrade_while_the_data_is_old() -> None:
    # Stopped upgrade 2.7.2 -> 2.7.99-broken; currentVersion stays 2.7.2 until every pod runs the new version,
    # but the pods may report both.
    stopped = InProgress(from_version="2.7.2", to_version="2.7.99-broken", new_version_was_active=False)
    d = decide(target="2.7.2", current=None, pod_versions=["2.7.99-broken", "2.7.2"], in_progress=stopped)
    # The lowest running version is 2.7.2 itself: nothing to roll back in version terms...
    assert d.change is Change.NONE
    # ...while with the new version recorded as the running one, going back is a rollback, not a downgrade.
    d = decide(target="2.7.2", current="2.7.99-broken", in_progress=stopped)
    assert (d.change, d.reason, d.proceeds) == (Change.ROLLBACK, "RollbackRequested", True)


def test_rollback_after_the_new_version_was_active_needs_the_snapshot() -> None:
    done = InProgress(from_version="2.6.2", to_version="2.7.2", new_version_was_active=True)
    d = decide(target="2.6.2", current="2.7.2", in_progress=done)
    assert (d.change, d.reason) == (Change.REFUSED, "DowngradeRefused")
    assert "pre-upgrade snapshot" in d.message
    assert "OpenBaoRestore" in d.message
    allowed = decide(target="2.6.2", current="2.7.2", in_progress=done, allow_downgrade_to="2.6.2")
    assert allowed.change is Change.DOWNGRADE
    assert "pre-upgrade snapshot" in allowed.warnings[0]


def test_invalid_versions_are_refused() -> None:
    assert decide(target="latest", current="2.7.2").reason == "InvalidVersion"
    bad = decide(target="2.7.2", current="nightly")
    assert (bad.change, bad.reason) == (Change.REFUSED, "InvalidVersion")


def test_running_version() -> None:
    assert running_version(current="2.7.2", pod_versions=["2.6.2"]) == "2.7.2"
    assert running_version(current=None, pod_versions=["2.7.2", "junk", "2.6.2"]) == "2.6.2"
    assert running_version(current=None, pod_versions=[]) is None
    assert decide(target="2.7.2", current=None, pod_versions=["2.6.2", "2.7.2"]).change is Change.UPGRADE
