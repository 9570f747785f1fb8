"""Pure parsing of the FastAGI wire format, on lines copied from the real Asterisk 22 captures."""

from __future__ import annotations

import pytest

from ivr.channel import CallerHungUp
from ivr.channels.agi.commands import quote, set_variable, stream_file
from ivr.channels.agi.environment import parse_environment, parse_route
from ivr.channels.agi.errors import (
    AgiDeadChannel,
    AgiProtocolError,
    AgiUnexpectedCode,
    AgiUnknownCommand,
    AgiUsageError,
)
from ivr.channels.agi.protocol import LineKind, classify, decode_line
from ivr.channels.agi.replies import cached_reply, check, digit_of, parse_get_data, parse_reply, parse_usage_reply

# agi-transcript-args.txt, conn 1 (exact lines, including "agi_accountcode: " with its space)
ARGS_ENV = """agi_network: yes
agi_network_script: short?lang=de
agi_request: agi://127.0.0.1:4573/short?lang=de
agi_channel: PJSIP/sipp-0000000d
agi_language: en
agi_type: PJSIP
agi_uniqueid: 1795425193.13
agi_version: 22.10.1
agi_callerid: sipp
agi_calleridname: sipp
agi_callingpres: 0
agi_callingani2: 0
agi_callington: 0
agi_callingtns: 0
agi_dnid: args
agi_rdnis: unknown
agi_context: ivr-in
agi_extension: args
agi_priority: 2
agi_enhanced: 0.0
agi_accountcode: 
agi_threadid: 140199926494912
agi_arg_1: first
agi_arg_2: second arg
agi_arg_3: third=3""".splitlines()  # noqa: W291 - the trailing space is on the wire


def test_environment_from_the_args_capture() -> None:
    env = parse_environment(ARGS_ENV)
    assert env.request == "agi://127.0.0.1:4573/short?lang=de"
    assert env.channel == "PJSIP/sipp-0000000d"
    assert env.channel_type == "PJSIP"
    assert env.uniqueid == "1795425193.13"
    assert env.version == "22.10.1"
    assert env.language == "en"
    assert (env.callerid, env.calleridname, env.callingpres) == ("sipp", "sipp", "0")
    assert (env.dnid, env.rdnis, env.context, env.extension, env.priority) == ("args", "unknown", "ivr-in", "args", "2")
    assert env.enhanced == "0.0"
    assert env.accountcode == ""
    assert env.threadid == "140199926494912"
    assert env.network is True
    assert env.arguments == ("first", "second arg", "third=3")
    assert env.route.script == "short"
    assert dict(env.route.params) == {"lang": "de"}
    assert env.dialled == "args"


def test_arguments_are_ordered_by_number_not_by_arrival() -> None:
    env = parse_environment(["agi_request: agi://h/x", "agi_arg_10: ten", "agi_arg_2: two", "agi_arg_1: one"])
    assert env.arguments == ("one", "two", "ten")


def test_dialled_falls_back_to_the_extension_when_dnid_is_unknown() -> None:
    # agi-originate.txt: a callback leg has "agi_dnid: unknown"
    env = parse_environment(["agi_request: agi://127.0.0.1:4573/callback", "agi_dnid: unknown",
                             "agi_extension: s", "agi_callerid: 5551234", "agi_arg_1: cb42"])
    assert env.dialled == "s"
    assert env.caller == "5551234"
    assert env.arguments == ("cb42",)


@pytest.mark.parametrize(
    ("request_url", "network_script", "script", "params"),
    [
        ("agi://127.0.0.1:4573/ivr?source=sipp", "ivr?source=sipp", "ivr", {"source": "sipp"}),
        ("agi://127.0.0.1:4573/support", "", "support", {}),
        ("agi://127.0.0.1:4573/", "", "", {}),
        ("agi://127.0.0.1:4573/support?lang=es&queue=billing%20vip", "", "support",
         {"lang": "es", "queue": "billing vip"}),
    ],
)
def test_route(request_url: str, network_script: str, script: str, params: dict[str, str]) -> None:
    route = parse_route(request_url, network_script)
    assert route.script == script
    assert dict(route.params) == params


@pytest.mark.parametrize(
    "lines",
    [
        ["agi_channel: PJSIP/x"],  # no agi_request
        ["agi_request: agi://h/x", "garbage without colon"],
        ["agi_request: agi://h/x", "notagi: 1"],
        ["agi_request: agi://h/x", "agi_arg_x: 1"],
        ["agi_request: agi://h/x"] + [f"agi_k{i}: v" for i in range(300)],
    ],
)
def test_bad_environments_are_protocol_errors(lines: list[str]) -> None:
    with pytest.raises(AgiProtocolError):
        parse_environment(lines)


# (line as captured, code, result, data, extras) - every shape seen in the captures
REPLIES = [
    ("200 result=0", 200, "0", None, {}),  # ANSWER
    ("200 result=1 (PJSIP/sipp-00000001)", 200, "1", "PJSIP/sipp-00000001", {}),  # GET VARIABLE CHANNEL
    ("200 result=0 endpos=242214", 200, "0", None, {"endpos": "242214"}),  # STREAM FILE demo-congrats
    ("200 result=-1 endpos=196000", 200, "-1", None, {"endpos": "196000"}),  # hangup mid STREAM FILE
    ("200 result=49 endpos=960", 200, "49", None, {"endpos": "960"}),  # key 1 during STREAM FILE
    ("200 result=50 endpos=2020", 200, "50", None, {"endpos": "2020"}),  # CONTROL STREAM FILE (ms)
    ("200 result=0 endpos=-1", 200, "0", None, {"endpos": "-1"}),  # CONTROL STREAM FILE to the end
    ("200 result=51", 200, "51", None, {}),  # WAIT FOR DIGIT '3'
    ("200 result=12", 200, "12", None, {}),  # GET DATA
    ("200 result=3 (timeout)", 200, "3", "timeout", {}),
    ("200 result= (timeout)", 200, "", "timeout", {}),
    ("200 result=6", 200, "6", None, {}),  # CHANNEL STATUS
    ("200 result=1 ()", 200, "1", "", {}),  # DIALEDTIME after NOANSWER
    ("200 result=1 (Local/s@callback-test-00000000;2)", 200, "1", "Local/s@callback-test-00000000;2", {}),
    ("200 result=1 (cb43-leg2)", 200, "1", "cb43-leg2", {}),
    ("200 result=1 (a (nested) value)", 200, "1", "a (nested) value", {}),
    ("200 result=1 (speech) endpos=1234 results=2", 200, "1", "speech", {"endpos": "1234", "results": "2"}),
]


@pytest.mark.parametrize(("line", "code", "result", "data", "extras"), REPLIES)
def test_replies(line: str, code: int, result: str, data: str | None, extras: dict[str, str]) -> None:
    assert classify(line) is LineKind.REPLY
    response = parse_reply(line)
    assert (response.code, response.result, response.data, dict(response.extras)) == (code, result, data, extras)
    assert check(response) is response


def test_endpos_and_result_int() -> None:
    response = parse_reply("200 result=-1 endpos=196000")
    assert response.result_int == -1
    assert response.endpos == 196000
    with pytest.raises(AgiProtocolError):
        _ = parse_reply("200 result= (timeout)").result_int


def test_error_codes_map_to_exceptions() -> None:
    with pytest.raises(AgiUnknownCommand) as unknown:
        check(parse_reply("510 Invalid or unknown command"), "THIS IS NOT A COMMAND")
    assert unknown.value.code == 510
    assert unknown.value.command == "THIS IS NOT A COMMAND"
    with pytest.raises(AgiDeadChannel) as dead:
        check(parse_reply("511 Command Not Permitted on a dead channel or intercept routine"))
    assert isinstance(dead.value, CallerHungUp)
    assert dead.value.text == "Command Not Permitted on a dead channel or intercept routine"
    with pytest.raises(AgiUsageError):
        check(parse_reply("520 Invalid command syntax.  Proper usage not available."))
    with pytest.raises(AgiUnexpectedCode):
        check(parse_reply("503 result=-2 Memory allocation failure"))


def test_multiline_usage_reply() -> None:
    first = "520-Invalid command syntax.  Proper usage follows:"
    assert classify(first) is LineKind.USAGE_START
    response = parse_usage_reply(first, [" Usage: WAIT FOR DIGIT <timeout>", "  Waits up to timeout ms"],
                                 "520 End of proper usage.")
    with pytest.raises(AgiUsageError) as usage:
        check(response, "WAIT FOR DIGIT")
    assert "Usage: WAIT FOR DIGIT <timeout>" in usage.value.usage
    assert usage.value.text == "Invalid command syntax.  Proper usage follows:"


def test_hangup_line() -> None:
    assert classify(decode_line(b"HANGUP\n")) is LineKind.HANGUP
    assert classify(decode_line(b"HANGUP\r\n")) is LineKind.HANGUP
    assert classify(decode_line(b"HANGUP")) is LineKind.HANGUP  # as the connection splits lines


@pytest.mark.parametrize("result", [-1, 0, 1, 35, 42, 48, 49, 57, 127])
def test_cached_replies_are_what_the_parser_gives(result: int) -> None:
    raw = f"200 result={result}".encode()
    assert cached_reply(raw) == parse_reply(raw.decode())


@pytest.mark.parametrize("raw", [b"200 result=0 endpos=3404", b"200 result=128", b"200 result=0\r", b"510 Invalid",
                                 b"200 result= (timeout)", b"HANGUP"])
def test_other_lines_are_not_cached(raw: bytes) -> None:
    assert cached_reply(raw) is None


@pytest.mark.parametrize("line", ["", "hello", "20 result=0", "200", "200 result", "200 res=1", "2000 result=1",
                                  "200 result=1 (unbalanced"])
def test_malformed_replies(line: str) -> None:
    with pytest.raises(AgiProtocolError):
        parse_reply(line)


def test_get_data_shapes_from_round2() -> None:
    assert parse_get_data(parse_reply("200 result=12")) == parse_get_data(parse_reply("200 result=12"))
    twelve = parse_get_data(parse_reply("200 result=12"))
    assert (twelve.digits, twelve.timed_out) == ("12", False)
    three = parse_get_data(parse_reply("200 result=3 (timeout)"))
    assert (three.digits, three.timed_out) == ("3", True)
    nothing = parse_get_data(parse_reply("200 result= (timeout)"))
    assert (nothing.digits, nothing.timed_out) == ("", True)
    gone = parse_get_data(parse_reply("200 result=-1"))
    assert gone.hung_up


def test_digits() -> None:
    assert digit_of(49) == "1"
    assert digit_of(35) == "#"
    assert digit_of(42) == "*"
    assert digit_of(0) is None
    assert digit_of(-1) is None
    with pytest.raises(AgiProtocolError):
        digit_of(4000)


def test_command_formatting() -> None:
    assert stream_file("beep", "0123456789*#") == 'STREAM FILE beep "0123456789*#"'
    assert stream_file("demo-congrats") == 'STREAM FILE demo-congrats ""'
    assert set_variable("X", "y") == 'SET VARIABLE X "y"'
    assert quote('say "hi" \\ bye') == '"say \\"hi\\" \\\\ bye"'
    with pytest.raises(ValueError, match="line breaks"):
        quote("a\nHANGUP")
    with pytest.raises(ValueError, match="variable name"):
        set_variable("A B", "x")
