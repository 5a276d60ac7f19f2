"""The reference platform's SIP front (Kamailio) answers real SIP on loopback.

The user agent below is deliberately tiny: stdlib UDP sockets and RFC 2617
MD5 digest with qop=auth, one message per send, every receive bounded by a
deadline. Kamailio answers a wrong password with 403 after the digest.
Ring-all is driven the way a media worker drives it: one INVITE to
`ringall` with one `X-CC-Ring` header per agent, from the worker's address.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixtures.reference.kamailio.server import Kamailio, KamailioError
from tests.ports import free_udp_tcp_port

pytestmark = [
    pytest.mark.kamailio,
    pytest.mark.skipif(
        shutil.which("kamailio") is None,
        reason="the `kamailio` binary is not installed (Debian package kamailio)",
    ),
]

HOST = "127.0.0.1"
WAIT = 5.0  # seconds for any one SIP answer on loopback


# -- wire -------------------------------------------------------------------
@dataclass(frozen=True)
class Message:
    first_line: str
    headers: list[tuple[str, str]]

    @classmethod
    def parse(cls, data: bytes) -> Message:
        head = data.decode(errors="replace").split("\r\n\r\n", 1)[0]
        first, *lines = head.split("\r\n")
        pairs = [line.split(":", 1) for line in lines if ":" in line]
        return cls(first, [(k.strip(), v.strip()) for k, v in pairs])

    @property
    def status(self) -> int:
        return int(self.first_line.split()[1]) if self.first_line.startswith("SIP/2.0") else 0

    @property
    def method(self) -> str:
        return self.first_line.split()[0]

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def get(self, name: str) -> str:
        values = self.all(name)
        if not values:
            raise AssertionError(f"no {name} header in {self.first_line!r}: {self.headers}")
        return values[0]


def receive(sock: socket.socket, what: str, deadline: float) -> Message:
    """The next SIP message on `sock`, or a failure naming what was awaited."""
    sock.settimeout(max(0.001, deadline - time.monotonic()))
    try:
        return Message.parse(sock.recv(65535))
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def digest(challenge: str, method: str, uri: str, user: str, password: str) -> str:
    """An Authorization value for a Digest challenge (RFC 2617, MD5, qop=auth)."""
    params = {k: v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|[^,\s]+)', challenge)}
    realm, nonce = params["realm"], params["nonce"]

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1, ha2 = md5(f"{user}:{realm}:{password}"), md5(f"{method}:{uri}")
    fields = f'username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", algorithm=MD5'
    if "auth" in params.get("qop", "").split(","):
        cnonce, nc = uuid.uuid4().hex[:16], "00000001"
        response = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        fields += f', cnonce="{cnonce}", nc={nc}, qop=auth'
    else:
        response = md5(f"{ha1}:{nonce}:{ha2}")
    if "opaque" in params:
        fields += f', opaque="{params["opaque"]}"'
    return f'Digest {fields}, response="{response}"'


class UserAgent:
    """A UDP SIP user agent on 127.0.0.1 talking to one Kamailio; one request at a time."""

    def __init__(
        self,
        server_port: int,
        user: str,
        password: str | None = None,
        sock: socket.socket | None = None,
    ) -> None:
        self.server = (HOST, server_port)
        self.user, self.password = user, password
        if sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((HOST, 0))
        self.sock = sock
        self.port: int = sock.getsockname()[1]
        self.cseq = 0
        self.call_id = ""
        self.expires = 300  # of REGISTER; 0 unregisters
        self.last: Message | None = None

    def close(self) -> None:
        self.sock.close()

    def _build(self, method: str, ruri: str, auth: str, headers: tuple[str, ...] = ()) -> bytes:
        self.cseq += 1
        to_uri = f"sip:{self.user}@{HOST}" if method == "REGISTER" else ruri
        lines = [
            f"{method} {ruri} SIP/2.0",
            f"Via: SIP/2.0/UDP {HOST}:{self.port};branch=z9hG4bK{uuid.uuid4().hex};rport",
            "Max-Forwards: 70",
            f"From: <sip:{self.user}@{HOST}>;tag={self.call_id[:8]}",
            f"To: <{to_uri}>",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} {method}",
            f"Contact: <sip:{self.user}@{HOST}:{self.port}>",
            f"Expires: {self.expires}" if method == "REGISTER" else "",
            auth,
            *headers,
            "Content-Length: 0",
        ]
        return ("\r\n".join(line for line in lines if line) + "\r\n\r\n").encode()

    def wait_final(self, what: str) -> Message:
        """The next final response (1xx skipped) within WAIT seconds."""
        deadline, seen = time.monotonic() + WAIT, list[str]()
        message = receive(self.sock, f"final response to {what}", deadline)
        while message.status < 200:
            seen.append(message.first_line)
            message = receive(self.sock, f"final response to {what} after {seen}", deadline)
        self.last = message
        return message

    def send_only(
        self, method: str, target: str | None, headers: tuple[str, ...] = (), auth: str = ""
    ) -> str:
        """Start a new request to `target` (None: the server itself); its request-URI."""
        ruri = f"sip:{HOST}:{self.server[1]}"
        if target is not None:
            ruri = f"sip:{target}@{HOST}:{self.server[1]}"
        self.call_id = f"{uuid.uuid4().hex}@{HOST}"
        self.sock.sendto(self._build(method, ruri, auth, headers), self.server)
        return ruri

    def send(self, method: str, target: str | None, wait: bool = True) -> list[int]:
        """Send a request, answer one digest challenge; the final statuses seen.

        With wait=False the authenticated retry is sent but not awaited.
        """
        ruri = self.send_only(method, target)
        statuses = [self.wait_final(method).status]
        assert self.last is not None
        if self.last.status in (401, 407) and self.password is not None:
            www = self.last.status == 401
            challenge = self.last.get("WWW-Authenticate" if www else "Proxy-Authenticate")
            value = digest(challenge, method, ruri, self.user, self.password)
            header = f"{'Authorization' if www else 'Proxy-Authorization'}: {value}"
            self.sock.sendto(self._build(method, ruri, header), self.server)
            if not wait:
                return statuses
            statuses.append(self.wait_final(method).status)
        return statuses


def reply(
    sock: socket.socket,
    request: Message,
    status: int,
    reason: str,
    to: tuple[str, int],
    tag: str | None = None,
) -> None:
    """Answer `request` as a UAS: all Vias, From, To with a tag, Call-ID, CSeq."""
    tag = tag or f"uas{status}"
    lines = [f"SIP/2.0 {status} {reason}"]
    lines += [f"Via: {via}" for via in request.all("Via")]
    lines += [f"From: {request.get('From')}", f"To: {request.get('To')};tag={tag}"]
    lines += [f"Call-ID: {request.get('Call-ID')}", f"CSeq: {request.get('CSeq')}"]
    if status == 200 and request.method == "INVITE":
        lines += [f"Contact: <sip:agent@{HOST}:{sock.getsockname()[1]}>"]
    lines += ["Content-Length: 0"]
    sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), to)


def expect_request(sock: socket.socket, method: str) -> tuple[Message, tuple[str, int]]:
    """The next request of `method` arriving at `sock`, within WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data, source = sock.recvfrom(65535)
        except TimeoutError:
            break
        message = Message.parse(data)
        if message.method == method:
            return message, source
    raise AssertionError(f"no {method} arrived at 127.0.0.1:{sock.getsockname()[1]} in {WAIT}s")


def branch_of(request: Message) -> str:
    """The branch parameter of the topmost Via (the hop that sent `request`)."""
    match = re.search(r";branch=([^;\s,]+)", request.all("Via")[0])
    assert match, f"no branch in {request.all('Via')[0]!r}"
    return match.group(1)


def relay_busy(caller: UserAgent, callee: socket.socket) -> Message:
    """The INVITE `caller` sent arrives at `callee`, whose 486 comes back to `caller`."""
    invite, source = expect_request(callee, "INVITE")
    assert invite.get("Call-ID") == caller.call_id
    reply(callee, invite, 486, "Busy Here", source)
    answer = caller.wait_final("INVITE relayed to the callee")
    assert answer.status == 486
    return invite


# -- fixtures ---------------------------------------------------------------
USERS = {"1001": "secret1", "1002": "secret2"}
KamailioFactory = Callable[..., Kamailio]


@pytest.fixture
def make_kamailio(tmp_path: Path) -> Iterator[KamailioFactory]:
    started: list[Kamailio] = []

    def make(
        dids: list[str] | None = None, workers: list[tuple[str, int]] | None = None
    ) -> Kamailio:
        workdir = tmp_path / f"kamailio{len(started)}"
        kamailio = Kamailio(workdir, free_udp_tcp_port(), dict(USERS), dids=dids, workers=workers)
        started.append(kamailio)
        kamailio.write_config()
        kamailio.start()
        return kamailio

    yield make
    for kamailio in started:
        kamailio.stop()


@pytest.fixture
def kamailio(make_kamailio: KamailioFactory) -> Kamailio:
    return make_kamailio()


@pytest.fixture
def agents(kamailio: Kamailio) -> Iterator[Callable[..., UserAgent]]:
    opened: list[UserAgent] = []

    def make(user: str, password: str | None = None) -> UserAgent:
        opened.append(UserAgent(kamailio.sip_port, user, password))
        return opened[-1]

    yield make
    for agent in opened:
        agent.close()


# -- tests ------------------------------------------------------------------
Agents = Callable[..., UserAgent]


def test_options_to_the_server_is_answered_on_udp_and_tcp(
    kamailio: Kamailio, agents: Agents
) -> None:
    assert agents("probe").send("OPTIONS", None) == [200]
    with socket.create_connection((HOST, kamailio.sip_port), timeout=WAIT) as tcp:
        local = tcp.getsockname()[1]
        tcp.sendall(
            (f"OPTIONS sip:{HOST}:{kamailio.sip_port} SIP/2.0\r\n"
             f"Via: SIP/2.0/TCP {HOST}:{local};branch=z9hG4bK{uuid.uuid4().hex}\r\n"
             "Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=t1\r\n"
             f"To: <sip:{HOST}>\r\nCall-ID: {uuid.uuid4().hex}\r\nCSeq: 1 OPTIONS\r\n"
             "Content-Length: 0\r\n\r\n").encode()
        )  # fmt: skip
        assert tcp.recv(65535).startswith(b"SIP/2.0 200")


def test_register_without_credentials_is_challenged_401(agents: Agents) -> None:
    agent = agents("1001")
    assert agent.send("REGISTER", None) == [401]
    assert agent.last is not None
    challenge = agent.last.get("WWW-Authenticate")
    assert challenge.startswith("Digest ") and 'realm="127.0.0.1"' in challenge
    assert 'qop="auth"' in challenge


def test_register_with_the_right_password_stores_the_contact(agents: Agents) -> None:
    callee = agents("1002", USERS["1002"])
    assert callee.send("REGISTER", None) == [401, 200]
    assert callee.last is not None
    assert f"{HOST}:{callee.port}" in callee.last.get("Contact")

    caller = agents("1001", USERS["1001"])
    assert caller.send("INVITE", "1002", wait=False) == [407]
    invite = relay_busy(caller, callee.sock)
    assert invite.first_line.startswith(f"INVITE sip:1002@{HOST}:{callee.port}")
    assert invite.all("Record-Route"), "initial INVITEs are record-routed"


def test_an_invite_forks_to_every_contact_of_the_user(agents: Agents) -> None:
    desk, mobile = agents("1002", USERS["1002"]), agents("1002", USERS["1002"])
    assert desk.send("REGISTER", None) == [401, 200]
    assert mobile.send("REGISTER", None) == [401, 200]
    caller = agents("1001", USERS["1001"])
    assert caller.send("INVITE", "1002", wait=False) == [407]
    for phone in (desk, mobile):
        invite, source = expect_request(phone.sock, "INVITE")
        assert invite.get("Call-ID") == caller.call_id
        reply(phone.sock, invite, 486, "Busy Here", source)
    assert caller.wait_final("INVITE forked to two contacts").status == 486


def test_wrong_password_or_unknown_user_is_403_after_the_digest(agents: Agents) -> None:
    assert agents("1001", "not-the-password").send("REGISTER", None) == [401, 403]
    assert agents("9999", "whatever").send("REGISTER", None) == [401, 403]
    assert agents("1001", "not-the-password").send("INVITE", "1002") == [407, 403]


def test_invite_without_credentials_is_challenged_407(agents: Agents) -> None:
    agent = agents("1001")
    assert agent.send("INVITE", "1002") == [407]
    assert agent.last is not None
    assert agent.last.get("Proxy-Authenticate").startswith("Digest ")


def test_invite_to_an_unknown_user_is_404(agents: Agents) -> None:
    assert agents("1001", USERS["1001"]).send("INVITE", "4711") == [407, 404]


def test_invite_to_an_international_number_is_403_after_the_digest(agents: Agents) -> None:
    """Toll-fraud control: nobody dials abroad, in either notation; an unknown number stays 404."""
    for number in ("00441632960000", "+441632960000"):
        agent = agents("1001", USERS["1001"])
        assert agent.send("INVITE", number) == [407, 403], number
        assert agent.last is not None and agent.last.first_line == "SIP/2.0 403 International calls barred"


def test_password_changes_apply_to_the_running_server(kamailio: Kamailio, agents: Agents) -> None:
    kamailio.set_password("1001", "rotated")
    assert agents("1001", USERS["1001"]).send("REGISTER", None) == [401, 403]
    assert agents("1001", "rotated").send("REGISTER", None) == [401, 200]
    kamailio.add_subscriber("2001", "new")
    assert agents("2001", "new").send("REGISTER", None) == [401, 200]


def test_a_did_goes_to_a_media_worker_whose_requests_are_trusted(
    make_kamailio: KamailioFactory,
) -> None:
    worker_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    worker_sock.bind((HOST, 0))
    kamailio = make_kamailio(dids=["500"], workers=[worker_sock.getsockname()])
    caller = UserAgent(kamailio.sip_port, "1001", USERS["1001"])
    callee = UserAgent(kamailio.sip_port, "1002", USERS["1002"])
    worker = UserAgent(kamailio.sip_port, "500", sock=worker_sock)
    try:
        assert caller.send("INVITE", "500", wait=False) == [407]
        assert relay_busy(caller, worker.sock).first_line.startswith("INVITE sip:500@")

        assert callee.send("REGISTER", None) == [401, 200]
        worker.send_only("INVITE", "1002")  # no credentials, and no challenge
        relay_busy(worker, callee.sock)
    finally:
        for agent in (caller, callee, worker):
            agent.close()


def test_a_did_without_workers_is_503(make_kamailio: KamailioFactory) -> None:
    kamailio = make_kamailio(dids=["500"])
    agent = UserAgent(kamailio.sip_port, "1001", USERS["1001"])
    try:
        assert agent.send("INVITE", "500") == [407, 503]
    finally:
        agent.close()


def test_a_broken_config_makes_start_raise_with_kamailios_error(tmp_path: Path) -> None:
    kamailio = Kamailio(tmp_path, free_udp_tcp_port(), dict(USERS))
    kamailio.write_config()
    with kamailio.config_path.open("a") as cfg:
        cfg.write('\nroute[BROKEN] {\n\tno_such_function("x");\n}\n')
    with pytest.raises(KamailioError, match="no_such_function") as raised:
        kamailio.start()
    assert "kamailio -c rejected" in str(raised.value)
    assert not kamailio.running


def test_a_port_held_by_another_instance_makes_start_raise(
    kamailio: Kamailio, tmp_path: Path
) -> None:
    # Kamailio itself would share the UDP port silently (SO_REUSEADDR).
    second = Kamailio(tmp_path / "second", kamailio.sip_port, dict(USERS))
    with pytest.raises(KamailioError, match="already in use"):
        second.start()
    assert not second.running


# -- registration state ------------------------------------------------------
def test_registered_follows_register_and_unregister(kamailio: Kamailio, agents: Agents) -> None:
    assert kamailio.registered() == set()
    first, second = agents("1001", USERS["1001"]), agents("1002", USERS["1002"])
    assert first.send("REGISTER", None) == [401, 200]
    assert second.send("REGISTER", None) == [401, 200]
    assert kamailio.registered() == {"1001", "1002"}
    assert kamailio.registered(["1002", "4711"]) == {"1002"}

    second.expires = 0
    assert second.send("REGISTER", None) == [401, 200]
    assert kamailio.registered() == {"1001"}
    assert kamailio.registered(["1002"]) == set()
    assert kamailio.registered([]) == set()


def test_registered_on_a_stopped_server_raises(tmp_path: Path) -> None:
    stopped = Kamailio(tmp_path, free_udp_tcp_port(), dict(USERS))
    with pytest.raises(KamailioError, match="not running"):
        stopped.registered()


def test_registered_answers_within_its_deadline(kamailio: Kamailio, tmp_path: Path) -> None:
    hung = tmp_path / "hung-kamcmd"
    hung.write_text("#!/bin/sh\nexec sleep 30\n")
    hung.chmod(0o755)
    kamailio.kamcmd = str(hung)
    started = time.monotonic()
    with pytest.raises(KamailioError, match="no answer within the deadline"):
        kamailio.registered(timeout=0.3)
    assert time.monotonic() - started < WAIT


# -- ring-all ----------------------------------------------------------------
RING = ("X-CC-Ring: 1001", "X-CC-Ring: 1003", "X-CC-Ring: 1002")  # 1003 never registers


@pytest.fixture
def worker_sock() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((HOST, 0))
    yield sock
    sock.close()


@pytest.fixture
def ring_centre(
    make_kamailio: KamailioFactory, worker_sock: socket.socket
) -> Iterator[tuple[Kamailio, UserAgent, UserAgent, UserAgent]]:
    """Kamailio trusting `worker_sock`, with 1001 and 1002 registered; 1003 is not."""
    kamailio = make_kamailio(workers=[worker_sock.getsockname()])
    kamailio.add_subscriber("1003", "secret3")
    worker = UserAgent(kamailio.sip_port, "500", sock=worker_sock)
    desk1 = UserAgent(kamailio.sip_port, "1001", USERS["1001"])
    desk2 = UserAgent(kamailio.sip_port, "1002", USERS["1002"])
    try:
        assert desk1.send("REGISTER", None) == [401, 200]
        assert desk2.send("REGISTER", None) == [401, 200]
        yield kamailio, worker, desk1, desk2
    finally:
        for agent in (desk1, desk2):
            agent.close()


def test_ringall_forks_to_every_registered_agent_and_cancels_the_losers(
    ring_centre: tuple[Kamailio, UserAgent, UserAgent, UserAgent],
) -> None:
    kamailio, worker, desk1, desk2 = ring_centre
    assert kamailio.registered(["1001", "1002", "1003"]) == {"1001", "1002"}
    worker.send_only("INVITE", "ringall", headers=(*RING, "X-CC-Ring: 1001"))

    offers = {}
    for desk in (desk1, desk2):
        invite, source = expect_request(desk.sock, "INVITE")
        assert invite.get("Call-ID") == worker.call_id
        assert invite.first_line.startswith(f"INVITE sip:{desk.user}@{HOST}:{desk.port}")
        assert not invite.all("X-CC-Ring"), "the ring list is not relayed"
        reply(desk.sock, invite, 180, "Ringing", source, tag=f"t{desk.user}")
        offers[desk.user] = (invite, source)
    assert branch_of(offers["1001"][0]) != branch_of(offers["1002"][0])

    invite, source = offers["1002"]
    reply(desk2.sock, invite, 200, "OK", source, tag="t1002")
    answer = worker.wait_final("ring-all INVITE")
    assert answer.status == 200 and answer.get("To").endswith("tag=t1002")

    # Until its CANCEL, desk1 sees only its one branch (and retransmissions of it),
    # although 1001 is listed twice.
    branches, deadline = {branch_of(offers["1001"][0])}, time.monotonic() + WAIT
    while (request := receive(desk1.sock, "CANCEL at desk1", deadline)).method != "CANCEL":
        branches.add(branch_of(request))
    cancel, source = request, offers["1001"][1]
    assert branches == {branch_of(cancel)}
    reply(desk1.sock, cancel, 200, "OK", source, tag="t1001")
    reply(desk1.sock, offers["1001"][0], 487, "Request Terminated", source, tag="t1001")


def test_ringall_goes_on_ringing_when_one_agent_declines(
    ring_centre: tuple[Kamailio, UserAgent, UserAgent, UserAgent],
) -> None:
    _, worker, desk1, desk2 = ring_centre
    worker.send_only("INVITE", "ringall", headers=RING)
    offers = {}
    for desk in (desk1, desk2):
        invite, source = expect_request(desk.sock, "INVITE")
        reply(desk.sock, invite, 180, "Ringing", source, tag=f"t{desk.user}")
        offers[desk.user] = (invite, source)
    invite, source = offers["1001"]
    reply(desk1.sock, invite, 603, "Decline", source, tag="t1001")
    expect_request(desk1.sock, "ACK")  # Kamailio has taken the 603
    # RFC 3261 forking would now CANCEL desk2, sent with that ACK; give it 0.3 s.
    desk2.sock.settimeout(0.3)
    try:
        while True:
            late = Message.parse(desk2.sock.recv(65535))
            assert late.method != "CANCEL", "one agent's Decline cancelled the others"
    except TimeoutError:
        pass
    invite, source = offers["1002"]
    reply(desk2.sock, invite, 200, "OK", source, tag="t1002")
    assert worker.wait_final("ring-all INVITE after one Decline").status == 200


def test_ringall_gives_up_with_408_after_its_timeout(
    ring_centre: tuple[Kamailio, UserAgent, UserAgent, UserAgent],
) -> None:
    _, worker, desk1, desk2 = ring_centre
    worker.send_only("INVITE", "ringall", headers=(*RING, "X-CC-Ring-Timeout: 1"))
    offers = []
    for desk in (desk1, desk2):
        invite, source = expect_request(desk.sock, "INVITE")
        assert not invite.all("X-CC-Ring-Timeout")
        reply(desk.sock, invite, 180, "Ringing", source, tag=f"t{desk.user}")
        offers.append((desk, invite))
    # Kamailio's default would ring for 120 s; WAIT is 5 s.
    assert worker.wait_final("ring-all INVITE with a 1 s timeout").status == 408
    for desk, invite in offers:
        cancel, _ = expect_request(desk.sock, "CANCEL")
        assert branch_of(cancel) == branch_of(invite)


def test_ringall_with_nobody_registered_is_480(
    make_kamailio: KamailioFactory, worker_sock: socket.socket
) -> None:
    kamailio = make_kamailio(workers=[worker_sock.getsockname()])
    worker = UserAgent(kamailio.sip_port, "500", sock=worker_sock)
    worker.send_only("INVITE", "ringall", headers=RING)
    assert worker.wait_final("ring-all INVITE to nobody").status == 480
    worker.send_only("INVITE", "ringall")  # no X-CC-Ring at all
    assert worker.wait_final("ring-all INVITE without agents").status == 480


def test_ringall_refuses_bad_timeouts_and_other_methods(
    make_kamailio: KamailioFactory, worker_sock: socket.socket
) -> None:
    kamailio = make_kamailio(workers=[worker_sock.getsockname()])
    worker = UserAgent(kamailio.sip_port, "500", sock=worker_sock)
    for timeout in ("soon", "0", "181", "-1"):
        worker.send_only("INVITE", "ringall", headers=(*RING, f"X-CC-Ring-Timeout: {timeout}"))
        assert worker.wait_final(f"ring-all with timeout {timeout!r}").status == 400
    worker.send_only("MESSAGE", "ringall", headers=RING)
    assert worker.wait_final("MESSAGE to ringall").status == 405


def test_ringall_is_forbidden_to_anyone_but_a_worker(
    make_kamailio: KamailioFactory, worker_sock: socket.socket
) -> None:
    kamailio = make_kamailio(workers=[worker_sock.getsockname()])
    agent = UserAgent(kamailio.sip_port, "1001", USERS["1001"])
    try:
        # No challenge first: ring-all is refused whatever the credentials.
        agent.send_only("INVITE", "ringall", headers=RING)
        assert agent.wait_final("ring-all INVITE from an agent").status == 403

        # With valid credentials (the nonce of an ordinary challenge) it is still 403;
        # the same credentials get an ordinary INVITE past authentication (404).
        agent.send_only("INVITE", "4711")
        challenge = agent.wait_final("challenge for a nonce").get("Proxy-Authenticate")
        for target, status in (("4711", 404), ("ringall", 403)):
            ruri = f"sip:{target}@{HOST}:{kamailio.sip_port}"
            credentials = digest(challenge, "INVITE", ruri, "1001", USERS["1001"])
            auth = f"Proxy-Authorization: {credentials}"
            agent.send_only("INVITE", target, headers=RING, auth=auth)
            assert agent.wait_final(f"authenticated INVITE to {target}").status == status
    finally:
        agent.close()


@pytest.mark.parametrize("field", ["subscriber", "DID"])
def test_ringall_is_a_reserved_name(tmp_path: Path, field: str) -> None:
    users, dids = dict(USERS), ["500"]
    if field == "subscriber":
        users["ringall"] = "x"
    else:
        dids.append("ringall")
    with pytest.raises(KamailioError, match="reserved"):
        Kamailio(tmp_path, free_udp_tcp_port(), users, dids=dids)
