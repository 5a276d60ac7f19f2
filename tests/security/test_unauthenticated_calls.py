"""No call without credentials: raw INVITEs on loopback to every number the platform has.

Each INVITE carries an SDP offer and no credentials. Kamailio must answer it
with a challenge or a refusal (401/407, or 403/404), never ring (180) or
answer (200), and must not hand it on: Kamailio logs every request it
dispatches to a media worker or relays to a registered phone, with its
Call-ID, so the log is searched for each INVITE's Call-ID. A real
authenticated call is searched for the same way, which proves the search
finds what is there.

Two ways around that check are tested on their own. A request with a To
tag and a Route header naming Kamailio looks in-dialog, and in-dialog
requests skip authentication: Kamailio must answer 481 unless the dialog
is one it set up (its Route carries the ``cc=`` hash of the Call-ID that
Kamailio put in Record-Route), and relay nothing. An
INVITE sent straight to a media worker's UDP port skips Kamailio: the
worker must refuse it with 403 unless it came from Kamailio's address.
"""

from __future__ import annotations

import re
import secrets
import shutil
import socket
import time
from collections.abc import Callable

import pytest

from fixtures.reference.config import load_config
from harness.sip.config import Behaviour
from tests.reference.conftest import Desk, RefPlatform
from tests.security import sipwire
from tests.security.health import log_lines_with

pytestmark = [
    pytest.mark.sip,
    pytest.mark.kamailio,
    pytest.mark.skipif(shutil.which("kamailio") is None, reason="needs Debian's kamailio package"),
]

CONFIG = load_config()
NUMBERS = [*CONFIG.dids, *CONFIG.agents, *CONFIG.callers, "9999", "ringall"]
REFUSED = {401, 403, 404, 407}
HANDED_ON = ("dispatching", "relaying")  # Kamailio's xlog when a request leaves for a worker/phone
WAIT = 5.0


def invite(probe: sipwire.Probe, target: str, *, to_tag: str | None = None,
           route: str | None = None) -> tuple[bytes, str]:
    """An INVITE for ``target`` (``user@host:port``) with an SDP offer: ``(message, Call-ID)``."""
    call_id = f"{secrets.token_hex(10)}@127.0.0.1"
    user = target.split("@", 1)[0]
    message = sipwire.request(
        "INVITE", f"sip:{target}", probe.server[1], probe.port, to=f"sip:{user}@127.0.0.1",
        to_tag=to_tag, call_id=call_id, extra=(f"Route: {route}",) if route else (),
        body=sipwire.offer(probe.port + 1))
    return message, call_id


def answered_or_rang(replies: list[sipwire.Reply]) -> list[str]:
    return [r.first_line for r in replies if r.status is not None and 100 < r.status < 300]


@pytest.mark.parametrize("number", NUMBERS)
def test_an_invite_without_credentials_is_refused_and_goes_nowhere(
    platform: RefPlatform, number: str
) -> None:
    with sipwire.Probe(platform.sip_port) as probe:
        message, call_id = invite(probe, f"{number}@127.0.0.1:{platform.sip_port}")
        replies = probe.send(message, WAIT) + probe.listen(1.0)  # and anything later
    seen = [r.first_line for r in replies]
    assert replies and replies[0].status in REFUSED, f"INVITE {number}: {seen}"
    assert not answered_or_rang(replies), f"INVITE {number}: {seen}"
    handed = [line for line in log_lines_with(platform, call_id)
              if any(word in line for word in HANDED_ON)]
    assert not handed, f"INVITE {number} without credentials was handed on: {handed}"


def test_the_log_search_finds_an_authenticated_call(
    platform: RefPlatform, desk_for: Callable[[RefPlatform], Desk]
) -> None:
    """The control: a caller with credentials reaches a media worker, and the log says so."""
    desk = desk_for(platform).start()
    call = desk.connect("4000")
    desk.hang_up(call)
    assert call.sip_call_id is not None
    lines = log_lines_with(platform, call.sip_call_id)
    handed = [line for line in lines if "dispatching" in line]
    assert handed, f"no 'dispatching' line for {call.sip_call_id} in Kamailio's log"
    refused = [line for line in lines if "no dialog of ours" in line]
    assert not refused, f"Kamailio refused the real call's own in-dialog requests: {refused}"


def test_a_forged_in_dialog_invite_rings_no_agent_and_no_worker(
    platform: RefPlatform, desk_for: Callable[[RefPlatform], Desk],
    note: Callable[[str, object], None],
) -> None:
    """An INVITE with a forged To tag and a Route naming Kamailio, addressed to a phone's or a
    worker's contact: neither may be offered it as a call."""
    desk = desk_for(platform).start({"2001": Behaviour()})
    phone = desk.board.phones["2001"].address
    worker = f"127.0.0.1:{platform.overrides['workers.first_port']}"
    route = f"<sip:127.0.0.1:{platform.sip_port};lr>"
    since = time.monotonic()
    for target in (f"2001@{phone}", f"4000@{worker}"):
        with sipwire.Probe(platform.sip_port) as probe:
            message, _ = invite(probe, target, to_tag=secrets.token_hex(4), route=route)
            replies = probe.send(message, WAIT) + probe.listen(1.0)
        note(target.split("@")[0], [r.first_line for r in replies])
        assert not answered_or_rang(replies), f"{target}: {[r.first_line for r in replies]}"
    desk.pause(0.5)
    assert not desk.offers("2001", since), "the agent's phone was offered a forged call"

def test_kamailio_relays_no_unauthenticated_in_dialog_request(platform: RefPlatform) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as elsewhere:
        elsewhere.bind(("127.0.0.1", 0))
        target = f"nobody@127.0.0.1:{elsewhere.getsockname()[1]}"
        with sipwire.Probe(platform.sip_port) as probe:
            message, _ = invite(probe, target, to_tag="forged",
                                route=f"<sip:127.0.0.1:{platform.sip_port};lr>")
            replies = probe.send(message, 1.0)
        elsewhere.settimeout(1.5)
        try:
            relayed = elsewhere.recv(65535).split(b"\r\n", 1)[0]
        except TimeoutError:
            relayed = b""
    assert not relayed, f"Kamailio relayed an unauthenticated request: {relayed!r}"
    assert [r.status for r in replies] == [481], (
        f"a forged in-dialog INVITE should get 481: {[r.first_line for r in replies]}")


def test_a_media_worker_takes_calls_only_from_kamailio(platform: RefPlatform) -> None:
    worker_port = int(platform.overrides["workers.first_port"])
    with sipwire.Probe(worker_port) as probe:
        message, _ = invite(probe, f"4000@127.0.0.1:{worker_port}")
        replies = probe.send(message, WAIT)
        final = replies[-1] if replies else None
        if final is not None and final.status == 200:
            hang_up(probe, message, final)
    assert final is not None and final.status == 403, (
        f"a worker should refuse an INVITE sent around Kamailio with 403: "
        f"{[r.first_line for r in replies]}")


def hang_up(probe: sipwire.Probe, message: bytes, answer: sipwire.Reply) -> None:
    """ACK the 200 and send BYE in its dialog, so the worker's call ends at once."""
    to = (answer.header("To") or "").encode()
    dialog = re.sub(rb"(?m)^To: [^\r]*", b"To: " + to, message.partition(b"\r\n\r\n")[0])
    for method, cseq in ((b"ACK", b"1"), (b"BYE", b"2")):
        request = re.sub(rb"^INVITE ", method + b" ", dialog)
        request = re.sub(rb"(?m)^CSeq: 1 INVITE", b"CSeq: " + cseq + b" " + method, request)
        request = re.sub(rb"branch=z9hG4bK\w+", b"branch=z9hG4bK" + secrets.token_hex(8).encode(),
                         request)
        request = re.sub(rb"(?m)^Content-(Type|Length)[^\r]*\r\n?", b"", request + b"\r\n")
        probe.sock.sendto(request + b"Content-Length: 0\r\n\r\n", probe.server)
    probe.listen(1.0)
