"""Raw SIP on loopback: send exact bytes over UDP or TCP and gather what comes back.

Nothing here parses more than a status line and a few headers: the messages
sent are deliberately odd, and what matters is what the target answered (or
that it answered nothing), within a deadline. Every destination is checked to
be on 127.0.0.0/8 before a byte leaves.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import socket
import time
from dataclasses import dataclass
from typing import Self

from tests.reference.test_kamailio import digest

HOST = "127.0.0.1"
_STATUS = re.compile(rb"^SIP/2\.0 (\d{3})\b")
_HEADER = r"(?im)^{name}\s*:\s*(.+?)\r?$"


def loopback(host: str) -> str:
    """``host`` itself, if it is an IPv4 address on 127.0.0.0/8; anything else raises."""
    if ipaddress.ip_address(host) not in ipaddress.ip_network("127.0.0.0/8"):
        raise ValueError(f"refusing to send SIP to {host}: only 127.0.0.0/8 is allowed")
    return host


@dataclass(frozen=True)
class Reply:
    """One message that came back."""

    data: bytes

    @property
    def first_line(self) -> str:
        return self.data.split(b"\r\n", 1)[0].decode("utf-8", "replace")

    @property
    def status(self) -> int | None:
        """The status code of a response; None for a request (or garbage)."""
        m = _STATUS.match(self.data)
        return int(m.group(1)) if m else None

    def header(self, name: str) -> str | None:
        text = self.data.partition(b"\r\n\r\n")[0].decode("utf-8", "replace")
        m = re.search(_HEADER.format(name=re.escape(name)), text)
        return m.group(1) if m else None


def udp_exchange(port: int, data: bytes, window: float, host: str = HOST) -> list[Reply]:
    """Send ``data`` in one datagram; what came back until a final reply or ``window`` ends."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        sock.sendto(data, (loopback(host), port))
        return _gather_udp(sock, time.monotonic() + window)


def _gather_udp(sock: socket.socket, deadline: float) -> list[Reply]:
    replies: list[Reply] = []
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            replies.append(Reply(sock.recv(65535)))
        except TimeoutError:
            break
        except ConnectionRefusedError:  # ICMP: nothing listens
            break
        if (replies[-1].status or 0) >= 200:
            break
    return replies


def tcp_exchange(port: int, data: bytes, window: float, host: str = HOST) -> list[Reply]:
    """Send ``data`` on a fresh connection; the messages read until a final reply, the
    connection's end or ``window``."""
    buffer = b""
    deadline = time.monotonic() + window
    with socket.create_connection((loopback(host), port), timeout=window) as conn:
        conn.sendall(data)
        while (left := deadline - time.monotonic()) > 0:
            conn.settimeout(left)
            try:
                chunk = conn.recv(65535)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            buffer += chunk
            if any((r.status or 0) >= 200 for r in frames(buffer)):
                break
    return frames(buffer)


def frames(stream: bytes) -> list[Reply]:
    """The whole messages in a TCP byte stream, cut by their Content-Length."""
    found: list[Reply] = []
    while b"\r\n\r\n" in stream:
        head, _, rest = stream.lstrip(b"\r\n").partition(b"\r\n\r\n")
        length = re.search(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)", head)
        size = int(length.group(1)) if length else 0
        found.append(Reply(head + b"\r\n\r\n" + rest[:size]))
        stream = rest[size:]
    return found


def request(method: str, ruri: str, port: int, local: int, *, to: str | None = None,
            to_tag: str | None = None, extra: tuple[str, ...] = (), call_id: str | None = None,
            cseq: int = 1, body: bytes = b"") -> bytes:
    """A plain request from ``sip:probe@127.0.0.1`` with ``rport`` (answers come to ``local``)."""
    call_id = call_id or f"{secrets.token_hex(10)}@{HOST}"
    lines = [
        f"{method} {ruri} SIP/2.0",
        f"Via: SIP/2.0/UDP {HOST}:{local};branch=z9hG4bK{secrets.token_hex(8)};rport",
        "Max-Forwards: 70",
        f"From: <sip:probe@{HOST}>;tag={secrets.token_hex(4)}",
        f"To: <{to or ruri}>" + (f";tag={to_tag}" if to_tag else ""),
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:probe@{HOST}:{local}>",
        *extra,
        *(["Content-Type: application/sdp"] if body else []),
        f"Content-Length: {len(body)}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def offer(rtp_port: int) -> bytes:
    """An SDP audio offer (PCMU) on 127.0.0.1."""
    lines = ["v=0", f"o=probe 1 1 IN IP4 {HOST}", "s=-", f"c=IN IP4 {HOST}", "t=0 0",
             f"m=audio {rtp_port} RTP/AVP 0", "a=rtpmap:0 PCMU/8000"]
    return ("\r\n".join(lines) + "\r\n").encode()


class Probe:
    """One UDP socket on 127.0.0.1 that sends requests to a SIP server and reads the answers."""

    def __init__(self, port: int, host: str = HOST) -> None:
        self.server = (loopback(host), port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.port: int = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, data: bytes, window: float = 5.0) -> list[Reply]:
        """Send one message; everything answered until a final reply (or ``window``)."""
        self.sock.sendto(data, self.server)
        return _gather_udp(self.sock, time.monotonic() + window)

    def listen(self, window: float) -> list[Reply]:
        """Whatever else arrives within ``window`` seconds (requests included)."""
        got: list[Reply] = []
        deadline = time.monotonic() + window
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                got.append(Reply(self.sock.recv(65535)))
            except TimeoutError:
                break
        return got


def unregister_all(port: int, user: str, password: str) -> int:
    """Remove every registered contact of ``user`` (``Contact: *``, digest); the final status."""
    with Probe(port) as probe:
        ruri, to = f"sip:{HOST}:{port}", f"sip:{user}@{HOST}"
        call_id = f"{secrets.token_hex(10)}@{HOST}"
        extra = ("Contact: *", "Expires: 0")
        first = probe.send(_without_contact(request("REGISTER", ruri, port, probe.port, to=to,
                                                    extra=extra, call_id=call_id)))
        challenge = first[-1].header("WWW-Authenticate") if first else None
        if challenge is None:
            return first[-1].status or 0 if first else 0
        auth = f"Authorization: {digest(challenge, 'REGISTER', ruri, user, password)}"
        answer = probe.send(_without_contact(request(
            "REGISTER", ruri, port, probe.port, to=to, extra=(*extra, auth), call_id=call_id,
            cseq=2)))
        return answer[-1].status or 0 if answer else 0


def _without_contact(message: bytes) -> bytes:
    """Drop the probe's own Contact (a wildcard REGISTER carries ``Contact: *`` alone)."""
    return re.sub(rb"Contact: <sip:probe@[^>]+>\r\n", b"", message, count=1)
