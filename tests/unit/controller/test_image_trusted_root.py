"""The trusted root of keyless image verification, as read from the user's ConfigMap."""

from __future__ import annotations

import base64

from openbao_operator.controller.image import _trusted_root


def test_the_trusted_root_comes_from_data_or_binary_data() -> None:
    assert _trusted_root(None) is None
    assert _trusted_root({"data": {"other": "x"}}) is None
    assert _trusted_root({"data": {"trusted_root.json": "{}"}}) == "{}"
    encoded = base64.b64encode(b"{ }").decode()
    assert _trusted_root({"binaryData": {"trusted_root.json": encoded}}) == b"{ }"
    assert _trusted_root({"binaryData": {"trusted_root.json": "!!"}}) is None
