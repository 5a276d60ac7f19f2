"""RFC 4475 torture messages against Kamailio and an agent's phone; both must keep working.

Every message of ``torture/`` goes, as bytes on the wire, to the reference
platform's Kamailio port over UDP (and over TCP where the README says so),
and over UDP to a harness agent phone (2001, answer mode, registered through
that Kamailio) from the ``Peer``, which plays the caller the RFC leaves out.
After each message: no process of the platform died or was replaced, the
phone process lives, no log holds a crash, Kamailio and the phone answer
OPTIONS, and the caller's authenticated call through Kamailio to 2001 is
answered. At the end a queue call goes all the way through (IVR worker, ACD,
agent).

What each target answered is noted (the ``note`` fixture), not judged: the
RFC says how a message should be treated, and tolerance is no crash. A call
a message started on the phone (it answers a valid INVITE, as it should) is
ACKed and ended by the peer; any other is hung up before the next message.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from harness.sip.config import Behaviour
from harness.sip.options import NoAnswer, options
from tests.reference.conftest import DOMAIN, SALES, Desk, RefPlatform
from tests.security import sipwire
from tests.security.health import Processes, crash_lines, processes
from tests.security.peer import Peer
from tests.security.torture import Torture, load

pytestmark = [
    pytest.mark.sip,
    pytest.mark.kamailio,
    pytest.mark.skipif(shutil.which("kamailio") is None, reason="needs Debian's kamailio package"),
]

Note = Callable[[str, object], None]  # the ``note`` fixture of conftest.py
MESSAGES = load()
AGENT = "2001"
WINDOW = 0.5  # answers on loopback come within milliseconds; silence is waited for this long
OPTIONS_TIMEOUT = 5.0
_CALL_ID = re.compile(rb"(?im)^(?:call-id|i)[ \t]*:[ \t]*(\S+)")


@dataclass
class Bench:
    """The platform, the desk with the agent's phone, and the processes they started with."""

    ref: RefPlatform
    desk: Desk
    started: Processes
    peer: Peer

    @property
    def phone(self) -> tuple[str, int]:
        address = self.desk.board.phones[AGENT].address
        assert address is not None
        host, port = address.rsplit(":", 1)
        return host, int(port)

    def send(self, message: Torture) -> dict[str, list[str]]:
        """The message to Kamailio over its transports and to the phone: what came back."""
        port = self.ref.sip_port
        seen = {f"kamailio/{t}": _exchange(t, port, message.wire) for t in message.transports}
        self.peer.send(message.wire, self.phone)
        seen["phone/udp"] = self.peer.settle(WINDOW, self.phone)
        return seen

    def phone_said(self, message: Torture, since: float) -> list[str]:
        """What the phone sent in answer (its own SIP trace, by the message's Call-ID)."""
        found = _CALL_ID.search(message.wire)
        call_id = found.group(1).decode(errors="replace") if found else None
        return [f"{e.data['dir']} {e.data['first_line']}" for e in self.desk.board.phones[AGENT].sip
                if e.t >= since and call_id and e.data.get("sip_call_id") == call_id]

    def end_calls(self, since: float) -> list[str]:
        """Hang up every call offered to the phone since ``since``; how each had gone."""
        offered = self.desk.offers(AGENT, since)
        for leg in offered:
            self.desk.drop(leg)
            self.desk.get(self.desk.until_ended(leg, 10.0))
        return [leg.summary() for leg in offered]

    def check_alive(self, after: str) -> None:
        problems = processes(self.ref).changes_since(self.started)
        phone = self.desk.board.phones[AGENT]
        if phone.dead or phone.proc.poll() is not None:
            problems.append(f"the phone died: {phone.dead or phone.proc.returncode}\n"
                            f"{phone.last_output()}")
        problems += crash_lines(self.ref)
        assert not problems, f"after {after}:\n" + "\n".join(problems)

    def check_answers(self, after: str, tcp: bool) -> None:
        """Kamailio (UDP, and TCP if used) and the phone answer OPTIONS; a call gets through."""
        host, port = self.phone
        targets = [("127.0.0.1", self.ref.sip_port, "udp"), (host, port, "udp")]
        targets += [("127.0.0.1", self.ref.sip_port, "tcp")] if tcp else []
        for address, target_port, transport in targets:
            try:
                options(address, target_port, transport, DOMAIN, OPTIONS_TIMEOUT)
            except NoAnswer as silent:
                pytest.fail(f"after {after}: {silent}")
        call = self.desk.dial(AGENT)
        self.desk.get(self.desk.until_answered(call))
        self.desk.hang_up(call)


def _exchange(transport: str, port: int, data: bytes, host: str = "127.0.0.1") -> list[str]:
    try:
        if transport == "tcp":
            return [r.first_line for r in sipwire.tcp_exchange(port, data, WINDOW, host)]
        return [r.first_line for r in sipwire.udp_exchange(port, data, WINDOW, host)]
    except (TimeoutError, ConnectionError) as refused:  # itself worth recording
        return [f"({type(refused).__name__}: {refused})"]


@pytest.fixture(scope="module")
def bench(platform: RefPlatform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    desk = Desk(platform, tmp_path_factory.mktemp("torture-phones"))
    try:
        desk.start({AGENT: Behaviour()})
        peer = Peer()
        try:
            yield Bench(platform, desk, processes(platform), peer)
        finally:
            peer.close()
    finally:
        desk.close()


def test_the_platform_starts_whole(bench: Bench) -> None:
    """The baseline the others compare with: Kamailio with its children, every worker."""
    assert bench.started.kamailio and bench.started.kamailio_children
    assert len(bench.started.workers) == bench.ref.overrides["workers.count"]
    bench.check_answers("start", tcp=True)


@pytest.mark.parametrize("message", MESSAGES, ids=[m.name for m in MESSAGES])
def test_kamailio_and_the_phone_survive(
    bench: Bench, message: Torture, note: Note
) -> None:
    since = time.monotonic()
    for target, answers in bench.send(message).items():
        note(target, answers)
    bench.desk.pause(WINDOW)  # the phone's trace events come over its control channel
    note("phone trace", bench.phone_said(message, since))
    note("phone calls", bench.end_calls(since))
    bench.check_alive(str(message))
    bench.check_answers(str(message), tcp="tcp" in message.transports)


def test_after_all_messages_a_queue_call_reaches_the_agent(bench: Bench) -> None:
    call, agent, leg = bench.desk.queue_call(SALES)
    bench.desk.finish(call, leg)
    assert agent == AGENT
    bench.check_alive(f"all {len(MESSAGES)} messages")
