"""Units of etcd-py's etcdctl that need no server: Go formats, flag syntax, txn grammar."""

from __future__ import annotations

import io

import pytest

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.cli.etcdctl import gofmt, gojson, tablewriter, tabwriter
from etcdpy.cli.etcdctl.commands import txn as txn_cmd
from etcdpy.cli.etcdctl.exits import CommandExit, ExitCode, GoPanic
from etcdpy.cli.etcdctl.flags import Flag, FlagError, FlagSet, HelpRequested, Kind
from etcdpy.cli.etcdctl.main import run
from etcdpy.pkg import goquote


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (5e-7, "500ns"),
        (1.5e-5, "15µs"),
        (0.002103938, "2.103938ms"),
        (5, "5s"),
        (61.5, "1m1.5s"),
        (3600, "1h0m0s"),
    ],
)
def test_go_duration_string(seconds: float, text: str) -> None:
    assert gofmt.format_duration(seconds) == text


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2s", 2.0), ("500ms", 0.5), ("1m30s", 90.0), ("1.5h", 5400.0), ("0", 0.0), ("10us", 1e-5)],
)
def test_go_parse_duration(text: str, seconds: float) -> None:
    assert gofmt.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("abc", 'time: invalid duration "abc"'),
        ("5", 'time: missing unit in duration "5"'),
        ("1x", 'time: unknown unit "x" in duration "1x"'),
    ],
)
def test_go_parse_duration_errors(text: str, error: str) -> None:
    with pytest.raises(gofmt.GoSyntaxError, match=error):
        gofmt.parse_duration(text)


def test_go_ints_and_bools() -> None:
    assert gofmt.parse_int("0x10", 0) == 16
    assert gofmt.parse_int("1_000", 0) == 1000
    assert gofmt.parse_int("ff", 16) == 255
    with pytest.raises(gofmt.GoSyntaxError, match=r'strconv.ParseInt: parsing "1_0": invalid syntax'):
        gofmt.parse_int("1_0")
    with pytest.raises(gofmt.GoSyntaxError, match="value out of range"):
        gofmt.parse_int("9" * 20)
    assert gofmt.parse_bool("T") is True and gofmt.parse_bool("0") is False
    with pytest.raises(gofmt.GoSyntaxError, match=r'strconv\.ParseBool: parsing "yes": invalid syntax'):
        gofmt.parse_bool("yes")


def test_go_quote_and_unquote() -> None:
    assert goquote.quote(b'a"\\\n\x00\xff' + "é".encode()) == '"a\\"\\\\\\n\\x00\\xffé"'
    assert gofmt.unquote_prefix('"a\\tb\\x41\\u00e9") rest') == (b"a\tbA\xc3\xa9", ") rest")
    assert gofmt.unquote_prefix('"open') is None


def test_humanize() -> None:
    assert [gofmt.humanize_bytes(n) for n in (5, 1500, 20480, 25 * 1024 * 1024)] == [
        "5 B",
        "1.5 kB",
        "20 kB",
        "26 MB",
    ]
    assert gofmt.humanize_since(0.2) == "now" and gofmt.humanize_since(30) == "30 seconds ago"


def test_go_json_of_messages() -> None:
    resp = pb.TxnResponse(succeeded=False, responses=[pb.ResponseOp(response_put=pb.PutResponse())])
    assert gojson.message(resp) == '{"responses":[{"Response":{"response_put":{}}}]}'
    assert gojson.string("<&>\u2028\x01\t") == '"\\u003c\\u0026\\u003e\\u2028\\u0001\\t"'
    assert gojson.value({"a": [1, True], "b": b"\xff"}) == '{"a":[1,true],"b":"\\ufffd"}'


def test_tabwriter_pads_columns_with_tabs() -> None:
    text = "\tget\tGets\n\tendpoint hashkv\tPrints\n\nx\ty\n"
    assert tabwriter.align(text) == "\tget\t\tGets\n\tendpoint hashkv\tPrints\n\nx\ty\n"


def test_tablewriter_layout_and_wrapping() -> None:
    table = tablewriter.render(
        ["endpoint", "errors"], [["a:1", "memberID:1234567890123456789 alarm:NOSPACE"]]
    )
    assert table.splitlines() == [
        "+----------+------------------------------+",
        "| ENDPOINT |            ERRORS            |",
        "+----------+------------------------------+",
        "|      a:1 | memberID:1234567890123456789 |",
        "|          |                alarm:NOSPACE |",
        "+----------+------------------------------+",
    ]


def _flags() -> FlagSet:
    return FlagSet(
        [
            Flag("prefix", Kind.BOOL, False, ""),
            Flag("limit", Kind.INT, 0, ""),
            Flag("write-out", Kind.STRING, "simple", "", shorthand="w"),
            Flag("endpoints", Kind.STRINGS, ["127.0.0.1:2379"], ""),
        ]
    )


def test_flag_syntax() -> None:
    flags = _flags()
    args = flags.parse(
        ["a", "--prefix", "--limit=3", "-wjson", "b", "--endpoints", "x,y", "--endpoints=z", "--", "-c"]
    )
    assert args == ["a", "b", "-c"]
    assert flags.value("prefix") is True and flags.value("limit") == 3
    assert flags.value("write-out") == "json"
    assert flags.value("endpoints") == ["x", "y", "z"]
    flags = _flags()
    flags.parse(["--prefix=false", "-w=fields", "--limit", "0x10"])
    assert (flags.value("prefix"), flags.value("write-out"), flags.value("limit")) == (False, "fields", 16)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--bogus"], "unknown flag: --bogus"),
        (["-x"], "unknown shorthand flag: 'x' in -x"),
        (["--limit"], "flag needs an argument: --limit"),
        (["-w"], "flag needs an argument: 'w' in -w"),
        (
            ["--limit=a"],
            'invalid argument "a" for "--limit" flag: strconv.ParseInt: parsing "a": invalid syntax',
        ),
        (
            ["--prefix=x"],
            'invalid argument "x" for "--prefix" flag: strconv.ParseBool: parsing "x": invalid syntax',
        ),
        (["---x"], "bad flag syntax: ---x"),
    ],
)
def test_flag_errors(args: list[str], error: str) -> None:
    with pytest.raises(FlagError) as err:
        _flags().parse(args)
    assert str(err.value) == error


def test_help_flag_without_definition() -> None:
    with pytest.raises(HelpRequested):
        _flags().parse(["--help"])


def test_txn_compare_grammar() -> None:
    cmp = txn_cmd.parse_compare('mod("k") < "5"')
    assert (cmp.target, cmp.result, cmp.key, cmp.mod_revision) == (pb.Compare.MOD, pb.Compare.LESS, b"k", 5)
    cmp = txn_cmd.parse_compare('val("k") != "a b"')
    assert (cmp.target, cmp.value) == (pb.Compare.VALUE, b"a b")
    with pytest.raises(CommandExit) as bad:
        txn_cmd.parse_compare('ver("k") = "x"')
    assert bad.value.code is ExitCode.INVALID_INPUT
    with pytest.raises(GoPanic, match="Unknown result op"):
        txn_cmd.parse_compare('ver("k") == "1"')


def test_txn_request_lines() -> None:
    assert txn_cmd.argify('put k "a b"') == ["put", "k", "a b"]
    assert txn_cmd.argify("put k 'xyz'") == ["put", "k", "x"]  # etcdctl slices by the argument count
    op = txn_cmd.parse_request("get --prefix k", lambda _: None)
    assert (op.request_range.key, op.request_range.range_end) == (b"k", b"l")


def test_run_version_needs_no_server() -> None:
    out, err = io.BytesIO(), io.BytesIO()
    code = run(["version"], stdin=io.BytesIO(), stdout=out, stderr=err, environ={})
    assert (code, out.getvalue(), err.getvalue()) == (0, b"etcdctl version: 3.5.1\nAPI version: 3.5\n", b"")
