"""PemText: the one multi-line string the HCL writer takes, and nothing but PEM gets through it."""

from __future__ import annotations

import hcl2
import pytest

from openbao_operator.render.hcl import Attr, HclValueError, PemText, emit
from tests import compat

PEM = compat.operator_identity().pubkeys_pem[0]


def test_pem_round_trips_through_hcl_and_json() -> None:
    text = emit([Attr("keys", [PemText(PEM), PemText(PEM)])])
    assert "\n-----END" not in text  # written with \n escapes, one line
    parsed = hcl2.loads(text)["keys"]
    assert [p[1:-1].replace("\\n", "\n") for p in parsed] == [PEM, PEM]


@pytest.mark.parametrize(
    "text",
    [
        PEM.replace("-----END", '"\nx = "y\n-----END'),
        PEM + "${env}\n",
        PEM.replace("\n", "\r\n"),
        "not a pem",
        PEM.replace("PUBLIC KEY", 'PUBLIC KEY"'),
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(HclValueError, match="not a PEM text"):
        emit([Attr("k", PemText(text))])


def test_a_plain_string_with_newlines_is_still_refused() -> None:
    with pytest.raises(HclValueError, match="control character"):
        emit([Attr("k", PEM)])
