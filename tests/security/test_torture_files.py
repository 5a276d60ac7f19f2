"""The torture files themselves: CRLF bytes, one README line each, and loopback once localised."""

from __future__ import annotations

import re

import pytest

from tests.security.torture import FOLDER, Torture, foreign_addresses, index_lines, load, localise

MESSAGES = load()
_LENGTH = re.compile(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(-?\d+)")


def test_every_file_has_one_readme_line_and_every_line_a_file() -> None:
    listed = [m["file"] for m in index_lines()]
    assert len(listed) == len(set(listed)), "a file is listed twice"
    assert sorted(listed) == sorted(p.name for p in FOLDER.glob("*.sip"))


def test_the_set_is_representative() -> None:
    verdicts = [m.verdict for m in MESSAGES]
    assert len(MESSAGES) >= 15
    assert verdicts.count("valid") >= 5 and verdicts.count("invalid") >= 5
    assert any("tcp" in m.transports for m in MESSAGES)
    assert {m.section.split(".")[1] for m in MESSAGES} >= {"1", "2", "3"}  # §3.1 .. §3.3


@pytest.mark.parametrize("message", MESSAGES, ids=[m.name for m in MESSAGES])
def test_lines_end_in_crlf_and_the_head_is_closed(message: Torture) -> None:
    assert b"\n" not in message.raw.replace(b"\r\n", b""), "a line ends in a bare LF"
    assert b"\r" not in message.raw.replace(b"\r\n", b""), "a bare CR"
    assert b"\r\n\r\n" in message.raw, "no empty line closes the header section"


SIZED = [m for m in MESSAGES
         if m.verdict == "valid" and _LENGTH.search(m.raw.split(b"\r\n\r\n")[0])]


@pytest.mark.parametrize("message", SIZED, ids=[m.name for m in SIZED])
def test_a_valid_message_has_the_body_its_content_length_says(message: Torture) -> None:
    head, _, body = message.raw.partition(b"\r\n\r\n")
    declared = _LENGTH.search(head)
    assert declared is not None
    size = int(declared.group(1))
    if message.name == "dblreq":  # the point: octets after the declared body
        assert size == 0 and body.startswith(b"INVITE ")
    else:
        assert size == len(body)


@pytest.mark.parametrize("message", MESSAGES, ids=[m.name for m in MESSAGES])
def test_localised_it_names_only_loopback_and_keeps_its_body_length(message: Torture) -> None:
    assert foreign_addresses(message.wire) == []
    assert localise(message.wire) == message.wire
    if message.name != "dblreq":
        assert len(message.wire.partition(b"\r\n\r\n")[2]) == len(
            message.raw.partition(b"\r\n\r\n")[2])


def test_localise_maps_documentation_addresses_and_example_hosts() -> None:
    raw = (b"INVITE sip:a@chair.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.2\r\n"
           b"Route: <sip:services.example.com;lr>\r\nContact: <sip:c@10.0.0.1>\r\n"
           b"Call-ID: x%40example.com\r\n\r\nc=IN IP4 192.0.2.4\r\n")
    assert localise(raw) == (
        b"INVITE sip:a@127.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.2.2\r\n"
        b"Route: <sip:127.0.2.1;lr>\r\nContact: <sip:c@127.0.0.1>\r\n"
        b"Call-ID: x%40example.com\r\n\r\nc=IN IP4 127.0.2.4\r\n")
    assert foreign_addresses(raw) == ["192", "10", "192", "chair.example.com",
                                      "services.example.com"]
