"""An agent phone keeps the headers of each INVITE it is offered: X- ones may tie it to a call,
and all of them (credentials never) are what expect_offer_headers judges.

A unit test of the parser on a written message, and one real call on 127.0.0.1
whose INVITE carries X- headers that the callee's timeline must show.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.sip.config import AccountSetup, Behaviour, PhoneSetup
from harness.sip.controller import Switchboard
from harness.sip.trace import message_headers, x_headers

INVITE = (
    "INVITE sip:2001@127.0.0.1:5070 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5160;branch=z9hG4bK1\r\n"
    "x-caller-call-id:  abc@caller \r\n"
    "X-CC-Queue: support\r\n"
    "X-CC-Queue: second\r\n"
    "X-Token: s3cret\r\n"
    "Content-Type: application/sdp\r\n"
    "\r\n"
    "X-Not-A-Header: body\r\n"
)


def test_x_headers_of_the_head_only_first_of_each_name_secrets_redacted() -> None:
    assert x_headers(INVITE, ("s3cret",)) == {
        "x-caller-call-id": "abc@caller", "X-CC-Queue": "support", "X-Token": "[redacted]"}


def test_credentials_are_never_kept_with_an_offer_and_folded_lines_are_joined() -> None:
    invite = ("INVITE sip:2001@127.0.0.1:5070 SIP/2.0\r\n"
              "f: <sip:1001@127.0.0.1>;tag=1\r\n"
              "Proxy-Authorization: Digest username=\"1001\", response=\"abc\"\r\n"
              "authorization: Digest username=\"1001\"\r\n"
              "P-Asserted-Identity: <sip:1001@127.0.0.1>,\r\n"
              "  <tel:+861012345678>\r\n"
              "X-Token: s3cret\r\n"
              "\r\n"
              "v=0\r\n")
    assert message_headers(invite, ("s3cret",)) == [
        ("f", "<sip:1001@127.0.0.1>;tag=1"),
        ("P-Asserted-Identity", "<sip:1001@127.0.0.1>, <tel:+861012345678>"),
        ("X-Token", "[redacted]")]


def _phone(name: str, tmp: Path, behaviour: Behaviour) -> PhoneSetup:
    return PhoneSetup(name=name, capture_dir=str(tmp), behaviour=behaviour,
                      account=AccountSetup(id_uri=f"sip:{name}@127.0.0.1"))


@pytest.mark.sip
def test_the_offered_phone_records_the_invites_x_headers(board: Switchboard,
                                                         tmp_path: Path) -> None:
    agent, _ = board.start([_phone("agent", tmp_path, Behaviour(mode="ring")),
                            _phone("caller", tmp_path, Behaviour())])
    tl = board.open_call("caller", "c1", f"sip:agent@{agent.address}",
                         {"X-Caller-Call-ID": "abc@caller", "X-CC-Queue": "support"})
    leg = board.wait(lambda: next(iter(board.calls_of("agent")), None), 5.0,
                     lambda: "the agent to be offered the call", timeline=tl)
    offered = leg.events[0]
    assert offered.kind == "incoming"
    assert offered.data["headers"] == {"X-Caller-Call-ID": "abc@caller", "X-CC-Queue": "support"}
    offer = [tuple(pair) for pair in offered.data["offer"]]  # every header, in order, for expect_offer_headers
    assert offer[0][0] == "Via" and ("X-CC-Queue", "support") in offer, offer
    assert any(name == "From" and "sip:caller@127.0.0.1" in value for name, value in offer), offer
    board.command("caller", "hangup", handle=tl.handle)
    board.wait(lambda: tl.state == "DISCONNECTED" or None, 5.0, lambda: "the CANCEL", timeline=tl)
