"""Decoding LIST pages and watch lines: one undecodable object is set apart and named, the rest decoded.

The bodies are what the API server sends (``kubectl get --raw`` shape); the deep object is the one the
API server really stores (it admits 10,000 levels under ``x-kubernetes-preserve-unknown-fields``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openbao_operator.kube import Undecodable
from openbao_operator.kube.decode import decode_json, decode_list_page, decode_watch_line, members

API, KIND = "openbao.org/v1alpha1", "OpenBaoCluster"


def cluster(name: str, *, backup: Any = None, uid: str = "") -> str:
    body = {
        "apiVersion": API,
        "kind": KIND,
        "metadata": {"name": name, "namespace": "ns", "uid": uid or f"uid-{name}", "resourceVersion": "42"},
        "spec": {"version": "2.4.1", "note": 'brackets "]}{[" and \\" escapes inside a string'},
    }
    text = json.dumps(body)
    if backup is not None:
        text = text[:-2] + ', "backup": ' + backup + "}}"
    return text


def deep(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def page(*items: str, rv: str = "100", cont: str = "") -> bytes:
    meta = {"resourceVersion": rv, **({"continue": cont} if cont else {})}
    return ('{"kind":"OpenBaoClusterList","apiVersion":"openbao.org/v1alpha1","metadata":' + json.dumps(meta)
            + ',"items":[' + ",".join(items) + "]}").encode()  # fmt: skip


def test_a_plain_page_decodes_whole() -> None:
    got = decode_list_page(page(cluster("a"), cluster("b"), cont="next"), api_version=API, kind=KIND)
    assert [i["metadata"]["name"] for i in got.items] == ["a", "b"]
    assert got.undecodable == []
    assert (got.resource_version, got.continue_token) == ("100", "next")


@pytest.mark.parametrize("levels", [1_500, 10_000])
def test_a_deep_object_is_set_apart_and_named_and_the_others_decode(levels: int) -> None:
    body = page(cluster("a"), cluster("deep", backup=deep(levels)), cluster("c"), rv="7", cont="tok")
    got = decode_list_page(body, api_version=API, kind=KIND)
    assert [i["metadata"]["name"] for i in got.items] == ["a", "c"]
    assert got.items[0]["spec"]["note"].startswith('brackets "]}{["')
    assert (got.resource_version, got.continue_token) == ("7", "tok")
    (bad,) = got.undecodable
    assert (bad.kind, bad.namespace, bad.name, bad.uid, bad.resource_version) == (KIND, "ns", "deep", "uid-deep", "42")
    assert "RecursionError" in bad.reason
    assert bad.stub() == {
        "apiVersion": API,
        "kind": KIND,
        "metadata": {"name": "deep", "namespace": "ns", "uid": "uid-deep", "resourceVersion": "42"},
    }
    assert str(bad).startswith("OpenBaoCluster ns/deep: ")


def test_a_malformed_object_is_set_apart_too() -> None:
    broken = cluster("broken")[:-2] + ', "x": tru}}'
    got = decode_list_page(page(broken, cluster("ok")), api_version=API, kind=KIND)
    assert [i["metadata"]["name"] for i in got.items] == ["ok"]
    assert [u.name for u in got.undecodable] == ["broken"]


def test_a_page_without_items_is_an_error_not_a_crash() -> None:
    with pytest.raises(Undecodable):
        decode_list_page(b'{"kind": "Status", "message": ' + deep(5_000).encode() + b"}", api_version=API, kind=KIND)
    with pytest.raises(Undecodable):
        decode_list_page(b"[" * 100_000, api_version=API, kind=KIND)


def test_watch_lines() -> None:
    line = ('{"type":"MODIFIED","object":' + cluster("a") + "}").encode()
    got = decode_watch_line(line, api_version=API, kind=KIND)
    assert (got.type, got.object and got.object["metadata"]["name"], got.undecodable) == ("MODIFIED", "a", None)

    line = ('{"type":"ADDED","object":' + cluster("deep", backup=deep(5_000)) + "}").encode()
    got = decode_watch_line(line, api_version=API, kind=KIND)
    assert got.type == "ADDED"
    assert got.object is None
    assert got.undecodable is not None
    assert (got.undecodable.name, got.undecodable.uid) == ("deep", "uid-deep")

    with pytest.raises(Undecodable):
        decode_watch_line(b'{"type": "ADDED", "object": ' + b"[" * 50_000, api_version=API, kind=KIND)
    with pytest.raises(Undecodable):
        decode_watch_line(b"not json", api_version=API, kind=KIND)


@pytest.mark.parametrize("data", [deep(2_000).encode(), b"{", b'{"a": "\xff\xfe"}', b"\x00", b"[" * 1_000_000])
def test_decode_json_turns_every_failure_into_undecodable(data: bytes) -> None:
    with pytest.raises(Undecodable) as caught:
        decode_json(data, what="a test body")
    assert len(str(caught.value)) < 300


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(JSON, max_size=6), st.dictionaries(st.text(), JSON, max_size=6))
def test_members_splits_any_json_exactly(elements: list[Any], mapping: dict[str, Any]) -> None:
    data = json.dumps(elements).encode()
    assert [json.loads(data[s:e]) for _, s, e in members(data)] == elements
    data = json.dumps(mapping, ensure_ascii=False).encode()
    assert {k: json.loads(data[s:e]) for k, s, e in members(data)} == mapping
