"""JSON <-> protobuf as etcd 3.5.1's gateway does it. Expected error texts were read
off the reference gateway (test_differential re-checks many of them live)."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etcdpy.api.gateway import gobase64, gojson, jsonpb
from etcdpy.api.gateway.gojson import GoJSONError, Node
from etcdpy.api.pb.authpb import auth_pb2
from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.api.pb.mvccpb import kv_pb2
from etcdpy.pkg import goquote

GO_ERRORS = [
    (b"{bad", "invalid character 'b' looking for beginning of object key string"),
    (b'{"key":5}', "json: cannot unmarshal number into Go value of type []uint8"),
    (b'{"key":"!!!"}', "illegal base64 data at input byte 0"),
    (
        b'{"key":"Zm9v","sort_order":"BAD"}',
        'unknown value "\\"BAD\\"" for enum etcdserverpb.RangeRequest.SortOrder',
    ),
    (b'{"key":"Zm9v","revision":"abc"}', "invalid character 'a' looking for beginning of value"),
    (b'{"key":"Zm9v"', "unexpected EOF"),
    (b"[]", "json: cannot unmarshal array into Go value of type map[string]json.RawMessage"),
    (b"5", "json: cannot unmarshal number into Go value of type map[string]json.RawMessage"),
    (b'{"key":"Zm9v","limit":1.5}', "json: cannot unmarshal number 1.5 into Go value of type int64"),
    (b'{"key":"Zm9v","limit":"1e3"}', "json: cannot unmarshal number 1e3 into Go value of type int64"),
    (b'{"key":"Zm9v","limit":""}', "unexpected end of JSON input"),
    (b'{"key":"Zm9v","serializable":"true"}', "json: cannot unmarshal string into Go value of type bool"),
    (b'{"key":"Zm9v","serializable":1}', "json: cannot unmarshal number into Go value of type bool"),
    (b'{"key":[102,111,256]}', "json: cannot unmarshal number 256 into Go value of type uint8"),
    (b'{"key":[102,"a",256]}', "json: cannot unmarshal string into Go value of type uint8"),
    (b'{"key":{}}', "json: cannot unmarshal object into Go value of type []uint8"),
    (b'{"key":"Zm9v","limit":"1."}', "invalid character ' ' after decimal point in numeric literal"),
    (b'{"key":"Zm9v","limit":"-"}', "invalid character ' ' in numeric literal"),
    (b'{"key":"Zm9v","limit":"1 2"}', "invalid character '2' after top-level value"),
    (b'{"key":"Zm9v","limit":"\\u0031"}', "invalid character '\\\\' looking for beginning of value"),
    (
        b'{"key":"Zm9v","sort_order":"DE\\u0053CEND"}',
        'unknown value "\\"DE\\\\u0053CEND\\"" for enum etcdserverpb.RangeRequest.SortOrder',
    ),
    (
        b'{"key":"Zm9v","sort_order":true}',
        "json: cannot unmarshal bool into Go value of type protoreflect.EnumNumber",
    ),
    (
        b'{"key":"Zm9v","sort_order":1.5}',
        "json: cannot unmarshal number 1.5 into Go value of type protoreflect.EnumNumber",
    ),
    (b'{"key":"Zm 9v"}', "illegal base64 data at input byte 2"),
    (b'{"key":"Zg="}', "illegal base64 data at input byte 3"),
    (b'{"key":"Zg"}', "illegal base64 data at input byte 0"),
    (b'{"key":"Zg==x"}', "illegal base64 data at input byte 4"),
    (b'{"key":"Z==="}', "illegal base64 data at input byte 1"),
    (
        b'{"key":"Zm9v","limit":99999999999999999999}',
        "json: cannot unmarshal number 99999999999999999999 into Go value of type int64",
    ),
    (b'{"key":"Zm9v","limit":[1]}', "json: cannot unmarshal array into Go value of type int64"),
    (b'{"key":"Zm9v\x01"}', "invalid character '\\x01' in string literal"),
    (b'{"key":"Zm9v"\xc3}', "invalid character '\xc3' after object key:value pair"),
    (b'{"key":"Zm9v"\x7f}', "invalid character '\\u007f' after object key:value pair"),
    (b'{"key":"Zm9v",}', "invalid character '}' looking for beginning of object key string"),
    (b"[1,]", "invalid character ']' looking for beginning of value"),
    (b'{"key":"\\x"}', "invalid character 'x' in string escape code"),
    (b'{"key":"\\u12x4"}', "invalid character 'x' in \\u hexadecimal character escape"),
    (b'{"key":tru}', "invalid character '}' in literal true (expecting 'e')"),
    (b'{"key":nul}', "invalid character '}' in literal null (expecting 'l')"),
    (b'{"key":-a}', "invalid character 'a' in numeric literal"),
    (b'{"key":1.e}', "invalid character 'e' after decimal point in numeric literal"),
    (b'{"key":1e+}', "invalid character '}' in exponent of numeric literal"),
    (b'{"key":01}', "invalid character '1' after object key:value pair"),
    (b'{"key"\'}', "invalid character '\\'' after object key"),
    (b"[" * 10001, "invalid character '[' exceeded max depth"),
    (b'{"ID":"-0"}', None),  # int64: fine
]


@pytest.mark.parametrize(("body", "message"), [c for c in GO_ERRORS if c[1] is not None])
def test_go_error_texts(body: bytes, message: str) -> None:
    with pytest.raises(GoJSONError) as err:
        jsonpb.decode(body, rpc_pb2.RangeRequest)
    assert err.value.message == message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", rpc_pb2.RangeRequest()),
        (b" \n\t", rpc_pb2.RangeRequest()),
        (b"null", rpc_pb2.RangeRequest()),
        (b'{"key":"Zm9v"}garbage', rpc_pb2.RangeRequest(key=b"foo")),
        (b'{"key":"","key":"Zm9v"}', rpc_pb2.RangeRequest(key=b"foo")),
        (b'{"key":[102,111,111]}', rpc_pb2.RangeRequest(key=b"foo")),
        (b'{"key":[null,111]}', rpc_pb2.RangeRequest(key=b"\0o")),
        (b'{"key":"Zm9v\\n"}', rpc_pb2.RangeRequest(key=b"foo")),
        (b'{"key":"Zm\\r\\n9v"}', rpc_pb2.RangeRequest(key=b"foo")),
        (b'{"limit":" 7 "}', rpc_pb2.RangeRequest(limit=7)),
        (b'{"limit":"null"}', rpc_pb2.RangeRequest()),
        (b'{"limit":"-0"}', rpc_pb2.RangeRequest()),
        (b'{"range_end":"eA==","rangeEnd":"eQ=="}', rpc_pb2.RangeRequest(range_end=b"y")),  # JSON name wins
        (
            b'{"sortOrder":"DESCEND","sort_target":4,"keysOnly":true}',
            rpc_pb2.RangeRequest(
                sort_order=rpc_pb2.RangeRequest.DESCEND,
                sort_target=rpc_pb2.RangeRequest.VALUE,
                keys_only=True,
            ),
        ),
        (b'{"sort_order":99}', rpc_pb2.RangeRequest(sort_order=99)),  # type: ignore[arg-type]
        (b'{"key":null,"limit":null}', rpc_pb2.RangeRequest()),
        (b'{"unknown":{"deep":[1,2]}}', rpc_pb2.RangeRequest()),
    ],
)
def test_decodes(body: bytes, expected: rpc_pb2.RangeRequest) -> None:
    assert jsonpb.decode(body, rpc_pb2.RangeRequest) == expected


def test_nested_and_oneof() -> None:
    body = (
        b'{"compare":[{"key":"YQ==","target":"VALUE","result":"NOT_EQUAL","value":"Yg==","range_end":"Yw=="}],'
        b'"success":[{"requestPut":{"key":"YQ==","prevKv":true}},{"request_txn":{"failure":[{"request_range":null}]}}],'
        b'"failure":[null]}'
    )
    txn = jsonpb.decode(body, rpc_pb2.TxnRequest)
    assert txn.compare[0].WhichOneof("target_union") == "value" and txn.compare[0].range_end == b"c"
    assert txn.success[0].request_put.prev_kv
    assert txn.success[1].request_txn.failure[0].WhichOneof("request") is None
    assert len(txn.failure) == 1
    with pytest.raises(GoJSONError, match="unmarshal number into Go value of type map"):
        jsonpb.decode(b'{"compare":[5]}', rpc_pb2.TxnRequest)
    with pytest.raises(GoJSONError, match=r"Go value of type \[\]json.RawMessage"):
        jsonpb.decode(b'{"compare":{}}', rpc_pb2.TxnRequest)


def test_unsigned_and_narrow_integers() -> None:
    assert jsonpb.decode(b'{"ID":"18446744073709551615"}', rpc_pb2.MemberRemoveRequest).ID == 2**64 - 1
    with pytest.raises(GoJSONError, match="number -1 into Go value of type uint64"):
        jsonpb.decode(b'{"ID":-1}', rpc_pb2.MemberRemoveRequest)
    with pytest.raises(GoJSONError, match="number -0 into Go value of type uint64"):
        jsonpb.decode(b'{"ID":"-0"}', rpc_pb2.MemberRemoveRequest)
    with pytest.raises(
        GoJSONError, match=r"number 3000000000 into Go value of type protoreflect\.EnumNumber"
    ):
        jsonpb.decode(b'{"sort_order":3000000000}', rpc_pb2.RangeRequest)


def test_strings_decode_like_go() -> None:
    decode = jsonpb.decode
    assert decode(b'{"name":"a\\ud83d\\ude00b"}', rpc_pb2.AuthUserAddRequest).name == "a\U0001f600b"
    assert decode(b'{"name":"\\ud83dx"}', rpc_pb2.AuthUserAddRequest).name == "\ufffdx"
    assert decode(b'{"name":"\\ude00\\ud83d"}', rpc_pb2.AuthUserAddRequest).name == "\ufffd\ufffd"
    assert decode(b'{"name":"\\ud83d\\n"}', rpc_pb2.AuthUserAddRequest).name == "\ufffd\n"
    assert decode(b'{"name":"bad\xff\xe2\x82z"}', rpc_pb2.AuthUserAddRequest).name == "bad\ufffd\ufffd\ufffdz"
    with pytest.raises(GoJSONError, match="cannot unmarshal number into Go value of type string"):
        decode(b'{"name":5}', rpc_pb2.AuthUserAddRequest)


def test_encodes_like_the_gateway() -> None:
    resp = rpc_pb2.RangeResponse(header=rpc_pb2.ResponseHeader(cluster_id=2**64 - 1, revision=2), count=1)
    resp.kvs.add(key=b"foo", value=b"", version=1)
    assert jsonpb.encode(resp) == (
        '{"header":{"cluster_id":"18446744073709551615","revision":"2"},'
        '"kvs":[{"key":"Zm9v","version":"1"}],"count":"1"}'
    )
    users = rpc_pb2.AuthUserListResponse(users=['a<b&c>\u2028é\x01"\\\t/\x08'])
    assert jsonpb.encode(users) == '{"users":["a\\u003cb\\u0026c\\u003e\\u2028é\\u0001\\"\\\\\\t/\\u0008"]}'
    txn = rpc_pb2.TxnRequest()
    txn.success.add().request_range.SetInParent()
    txn.compare.add(target=rpc_pb2.Compare.MOD, version=0)
    assert (
        jsonpb.encode(txn) == '{"compare":[{"target":"MOD","version":"0"}],"success":[{"request_range":{}}]}'
    )
    unknown_alarm = rpc_pb2.AlarmMember(alarm=9)  # type: ignore[arg-type]
    assert jsonpb.encode(unknown_alarm) == '{"alarm":9}'
    assert (
        jsonpb.encode(rpc_pb2.LeaseGrantResponse(ID=5, TTL=-1, error="e"))
        == '{"ID":"5","TTL":"-1","error":"e"}'
    )
    assert jsonpb.encode(rpc_pb2.HashResponse(hash=4294967295)) == '{"hash":4294967295}'


def _to_python(data: bytes, node: Node) -> Any:
    if node.kind == gojson.OBJECT:
        return {k: _to_python(data, v) for k, v in node.members.items()}
    if node.kind == gojson.ARRAY:
        return [_to_python(data, v) for v in node.items]
    return json.loads(data[node.start : node.end])


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES, st.booleans(), st.sampled_from(["", " ", "\n\t "]))
@settings(max_examples=300, deadline=None)
def test_scanner_agrees_with_python_on_valid_json(value: Any, ascii_only: bool, ws: str) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, indent=1 if ws else None)
    data = (ws + text + ws).encode()
    node = gojson.first_value(data)
    assert node is not None and _to_python(data, node) == value
    assert _to_python(data, gojson.document(data)) == value


JSONISH = st.text(alphabet='{}[]":,0123456789.eE+-tfrunlsa\\ \n', max_size=60).map(str.encode)


@given(st.binary(max_size=200) | JSONISH)
@settings(max_examples=1000, deadline=None)
def test_any_input_fails_only_with_go_errors(data: bytes) -> None:
    for cls in (rpc_pb2.RangeRequest, rpc_pb2.TxnRequest, rpc_pb2.WatchRequest):
        with contextlib.suppress(GoJSONError):
            jsonpb.decode(data, cls)
    with contextlib.suppress(GoJSONError):
        gojson.document(data)


@given(JSONISH | JSON_VALUES.map(lambda v: json.dumps(v).encode() + b" 1"))
@settings(max_examples=200, deadline=None)
def test_incremental_scanning_agrees_with_whole_input(data: bytes) -> None:
    """Feeding a stream byte by byte finds the same first value as reading it whole."""
    try:
        whole: Node | str | None = gojson.first_value(data)
    except GoJSONError as e:
        whole = e.message
    for cut in range(len(data) + 1):
        try:
            part = gojson.first_value(data[:cut], final=False)
        except gojson.Incomplete:
            continue
        except GoJSONError as e:
            assert whole == e.message
            return
        assert isinstance(whole, Node) and part is not None and part.end == whole.end
        return


MESSAGES = st.one_of(
    st.builds(
        rpc_pb2.RangeRequest,
        key=st.binary(max_size=20),
        range_end=st.binary(max_size=5),
        limit=st.integers(-(2**63), 2**63 - 1),
        sort_order=st.sampled_from([0, 1, 2, 17]),
        serializable=st.booleans(),
        min_mod_revision=st.integers(-(2**63), 2**63 - 1),
    ),
    st.builds(
        rpc_pb2.AuthRoleGrantPermissionRequest,
        name=st.text(),
        perm=st.builds(auth_pb2.Permission, permType=st.sampled_from([0, 1, 2]), key=st.binary(max_size=8)),
    ),
    st.builds(
        rpc_pb2.RangeResponse,
        header=st.builds(
            rpc_pb2.ResponseHeader, cluster_id=st.integers(0, 2**64 - 1), raft_term=st.integers(0, 2**64 - 1)
        ),
        kvs=st.lists(
            st.builds(kv_pb2.KeyValue, key=st.binary(max_size=8), lease=st.integers(-(2**63), 2**63 - 1)),
            max_size=3,
        ),
        more=st.booleans(),
    ),
    st.builds(
        rpc_pb2.MemberListResponse,
        members=st.lists(
            st.builds(rpc_pb2.Member, name=st.text(), peerURLs=st.lists(st.text(), max_size=2)), max_size=2
        ),
    ),
    st.builds(
        rpc_pb2.HashKVResponse,
        hash=st.integers(0, 2**32 - 1),
        compact_revision=st.integers(-(2**63), 2**63 - 1),
    ),
)


@given(MESSAGES)
@settings(max_examples=300, deadline=None)
def test_encode_then_decode_round_trips(msg: Any) -> None:
    text = jsonpb.encode(msg)
    json.loads(text)  # valid JSON
    assert "<" not in text and ">" not in text and "&" not in text
    assert jsonpb.decode(text.encode(), type(msg)) == msg


@given(st.text())
def test_string_encoding_and_unquoting_agree_with_python(s: str) -> None:
    s = s.encode("utf-8", "replace").decode()  # no lone surrogates
    assert json.loads(gojson.encode_string(s)) == s
    assert gojson.unquote(gojson.encode_string(s).encode()) == s
    assert gojson.unquote(json.dumps(s).encode()) == s


@given(st.binary(max_size=100), st.lists(st.integers(0, 200), max_size=5))
def test_base64_like_go(data: bytes, newlines: list[int]) -> None:
    text = base64.b64encode(data)
    assert gobase64.decode(text) == data
    for at in sorted(newlines, reverse=True):
        text = text[:at] + b"\r\n" + text[at:]
    assert gobase64.decode(text) == data
    assert gobase64.decode(base64.b64encode(data).rstrip(b"="), padded=False) == data


@pytest.mark.parametrize(
    ("text", "padded", "offset"),
    [(b"Zg=", True, 3), (b"Zg", True, 0), (b"Z===", True, 1), (b"Zg==x", True, 4), (b"Zm 9v", True, 2),
     (b"=", True, 0), (b"Zg=\n=", True, None), (b"Zg==", False, 2), (b"Z", False, 0), (b"Zm9", False, None)],
)  # fmt: skip
def test_base64_errors_like_go(text: bytes, padded: bool, offset: int | None) -> None:
    if offset is None:
        gobase64.decode(text, padded=padded)
        return
    with pytest.raises(gobase64.Base64Error) as err:
        gobase64.decode(text, padded=padded)
    assert err.value.offset == offset


def test_quote_char_like_go() -> None:
    assert [gojson.quote_char(c) for c in b"a'\"\\\n\x01\x7f"] == [
        "'a'",
        "'\\''",
        "'\"'",
        "'\\\\'",
        "'\\n'",
        "'\\x01'",
        "'\\u007f'",
    ]
    assert gojson.quote_char(0xC3) == "'Ã'" and gojson.quote_char(0xA0) == "'\\u00a0'"
    assert goquote.quote(b'"a\xff\xc3\xa9\n') == '"\\"a\\xffé\\n"'
