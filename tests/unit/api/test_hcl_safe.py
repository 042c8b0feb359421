"""The HCL-safe string rule, checked against a plain-Python statement of the same rule.

Quotes and backslashes are safe: the writer escapes them and OpenBao reads them back (the reference
operator's CRD admits them, and they run)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from openbao_operator.api.types import HCL_SAFE_REGEX

SAFE = re.compile(HCL_SAFE_REGEX)


def _safe_by_definition(value: str) -> bool:
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value):
        return False
    return not ("${" in value or "%{" in value)


@settings(max_examples=500)
@given(st.text(alphabet=st.sampled_from(list('ab${}%"\\\n\t\x7f\x85é日 ')), max_size=12))
def test_regex_equals_definition(value: str) -> None:
    assert (SAFE.fullmatch(value) is not None) == _safe_by_definition(value)


def test_examples() -> None:
    for good in ["", "abc", "$", "%", "a$b", "100%", "{x}", "$$", "%}", "日本語", "https://x:8200/v1", 'a"b', "a\\b"]:
        assert SAFE.fullmatch(good), good
    for bad in ["${x}", "$${x}", "%{if}", "%%{", "a\nb", "\t", "\x7f", "\x85"]:
        assert not SAFE.fullmatch(bad), bad
