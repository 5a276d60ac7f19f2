"""Where the phones sit on the network: local bind address, public address (static NAT), STUN.

All on loopback: 127.0.0.0/8 is one interface, so a phone can bind to
127.0.0.3 and still reach the peer on 127.0.0.1, and a phone that advertises
127.0.0.2 while bound to 127.0.0.1 shows what a wrong NAT address does -- the
platform's audio goes where nobody listens. STUN is answered by a small RFC
5389 Binding responder started by the test on a loopback port.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ProfileError
from harness.runner.cast import local_address
from harness.targets.profile import load_target
from tests.doctor.test_doctor import loopback
from tests.ports import free_udp_port

ROOT = Path(__file__).resolve().parents[2]
CCHARNESS = ROOT / ".venv" / "bin" / "ccharness"
MAGIC = 0x2112A442

CALL = """
name: One call from where the network section puts the caller
tags: [loopback]
deadline: 30s
steps:
  - call: {to: "did:main"}
  - expect_answer: {within: 5s}
  - expect_prompt: {prompt: greeting, within: 5s}
  - hangup
"""


def test_phones_bind_to_the_address_the_route_to_the_platform_takes(tmp_path: Path) -> None:
    target = load_target(loopback(tmp_path, 5070))
    assert local_address(target) == "127.0.0.1"  # the kernel's choice for a loopback destination
    chosen = load_target(loopback(tmp_path, 5070, network={"local_address": "127.0.0.3"}))
    assert local_address(chosen) == "127.0.0.3"


@pytest.mark.parametrize(("network", "field", "message"), [
    ({"local_address": "eth0"}, "network.local_address", "'eth0' is not an IP address"),
    ({"public_address": "auto"}, "network.public_address", "give stun:"),
    ({"public_address": "nat.example"}, "network.public_address", "is not an IP address"),
    ({"stun": ["stun.example.net:port"]}, "network.stun[0]", "a STUN server is host or host:port"),
    ({"stun_servers": ["x"]}, "network", "stun_servers"),
])
def test_a_bad_network_section_names_its_field(tmp_path: Path, network: dict[str, Any], field: str,
                                               message: str) -> None:
    with pytest.raises(ProfileError) as caught:
        load_target(loopback(tmp_path, 5070, network=network))
    text = str(caught.value)
    assert "target.yaml:" in text and field in text and message in text, text


def _run(tmp_path: Path, scenario: str = CALL, **network: Any) -> tuple[subprocess.CompletedProcess[str], str]:
    (tmp_path / "call.scenario.yaml").write_text(scenario)
    profile = loopback(tmp_path, free_udp_port(), network=network)
    done = subprocess.run([str(CCHARNESS), "run", str(tmp_path / "call.scenario.yaml"), "--target", str(profile),
                           "--reports", str(tmp_path / "reports"), "--run-id", "net"],
                          cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
    traces = "".join(p.read_text(errors="replace") for p in (tmp_path / "reports" / "net").rglob("sip-caller*.txt"))
    return done, traces


def _invite(trace: str) -> str:
    """The first INVITE we sent, headers and SDP (up to the next message in the trace)."""
    start = trace.index("INVITE sip:")
    end = trace.find("SIP/2.0 1", start)  # the first provisional reply to it
    return trace[start:end if end > 0 else None]


@pytest.mark.sip
def test_a_call_from_a_chosen_local_address_is_placed_and_heard(tmp_path: Path) -> None:
    done, trace = _run(tmp_path, local_address="127.0.0.3")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    invite = _invite(trace)
    assert "Contact: <sip:caller@127.0.0.3:" in invite and "c=IN IP4 127.0.0.3" in trace, invite


@pytest.mark.sip
def test_a_public_address_is_what_the_phones_advertise(tmp_path: Path) -> None:
    done, trace = _run(tmp_path, public_address="127.0.0.2")
    # the peer (PJSIP) answers Via's rport and latches its RTP onto where ours comes from, as
    # symmetric-RTP platforms and SBCs do: the call works although nobody listens on 127.0.0.2
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    invite = _invite(trace)
    assert "Contact: <sip:caller@127.0.0.2:" in invite and "c=IN IP4 127.0.0.2" in invite, invite


@pytest.mark.sip
def test_a_calls_custom_headers_are_on_its_invite(tmp_path: Path) -> None:
    scenario = CALL.replace('call: {to: "did:main"}',
                            'call: {to: "did:main", headers: {X-Test-Run: "licence-rehearsal 7", X-Priority: 3}}')
    done, trace = _run(tmp_path, scenario)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    invite = _invite(trace)
    assert "X-Test-Run: licence-rehearsal 7\n" in invite and "X-Priority: 3\n" in invite, invite


def test_one_way_audio_with_a_public_address_points_at_it(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from harness.doctor.call import _one_way_hint

    target = load_target(loopback(tmp_path, 5070, network={"public_address": "203.0.113.7"}))
    hint = _one_way_hint(SimpleNamespace(target=target), None)  # type: ignore[arg-type]
    assert "network.public_address 203.0.113.7" in hint and "RTP ports forwarded" in hint
    plain = _one_way_hint(SimpleNamespace(target=load_target(loopback(tmp_path, 5070))), None)  # type: ignore[arg-type]
    assert "public_address" not in plain and plain.startswith("one-way audio")


def _binding_response(request: bytes, source: tuple[str, int]) -> bytes | None:
    """The Binding response to ``request``: RFC 5389 (XOR-MAPPED-ADDRESS), or RFC 3489 (MAPPED-ADDRESS)
    for a classic request with no magic cookie -- PJSIP's SIP transport asks in the classic form."""
    if len(request) < 20 or struct.unpack("!H", request[:2])[0] != 0x0001:
        return None
    host, port = source
    address = struct.unpack("!I", socket.inet_aton(host))[0]
    if struct.unpack("!I", request[4:8])[0] == MAGIC:
        value = struct.pack("!BBHI", 0, 1, port ^ (MAGIC >> 16), address ^ MAGIC)
        attribute = struct.pack("!HH", 0x0020, len(value)) + value  # XOR-MAPPED-ADDRESS
    else:
        value = struct.pack("!BBHI", 0, 1, port, address)
        attribute = struct.pack("!HH", 0x0001, len(value)) + value  # MAPPED-ADDRESS
    return struct.pack("!HH", 0x0101, len(attribute)) + request[4:20] + attribute


@contextmanager
def stun_server() -> Iterator[tuple[int, list[tuple[str, int]]]]:
    """An RFC 5389 Binding responder on loopback that answers with each request's true source."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    asked: list[tuple[str, int]] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, source = sock.recvfrom(2048)
            except TimeoutError:
                continue
            reply = _binding_response(data, source)
            if reply is not None:
                asked.append(source)
                sock.sendto(reply, source)

    worker = threading.Thread(target=serve, name="stun", daemon=True)
    worker.start()
    try:
        yield sock.getsockname()[1], asked
    finally:
        stop.set()
        worker.join(2.0)
        sock.close()


@pytest.mark.sip
def test_with_stun_the_phones_ask_for_their_public_address_and_the_call_works(tmp_path: Path) -> None:
    with stun_server() as (port, asked):
        done, trace = _run(tmp_path, stun=[f"127.0.0.1:{port}"])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert asked, "no phone asked the STUN server"
    sip_port = int(_invite(trace).split("Contact: <sip:caller@127.0.0.1:", 1)[1].split(">", 1)[0].split(";")[0])
    assert ("127.0.0.1", sip_port) in asked, (sip_port, asked)  # the SIP socket asked: its mapped address
    rtp_port = int(_invite(trace).split("m=audio ", 1)[1].split()[0])
    assert ("127.0.0.1", rtp_port) in asked, (rtp_port, asked)  # and the RTP socket, for the SDP


def test_the_stun_responder_follows_rfc_5389() -> None:
    """The test's own STUN peer, checked against the RFC's XOR rule (so a pass above means something)."""
    request = struct.pack("!HHI", 0x0001, 0, MAGIC) + b"0123456789ab"
    reply = _binding_response(request, ("192.0.2.1", 32853))
    assert reply is not None and reply[:2] == b"\x01\x01" and reply[8:20] == b"0123456789ab"
    port = struct.unpack("!H", reply[26:28])[0] ^ (MAGIC >> 16)
    address = socket.inet_ntoa(struct.pack("!I", struct.unpack("!I", reply[28:32])[0] ^ MAGIC))
    assert (address, port) == ("192.0.2.1", 32853)
    classic = _binding_response(b"\x00\x01\x00\x00" + b"0123456789abcdef", ("192.0.2.1", 32853))
    assert classic is not None and classic[4:20] == b"0123456789abcdef"
    assert struct.unpack("!HHBBHI", classic[20:32]) == (0x0001, 8, 0, 1, 32853, 0xC0000201)
    assert _binding_response(b"\x01\x01" + request[2:], ("192.0.2.1", 1)) is None  # not a request
