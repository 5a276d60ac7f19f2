"""One out-of-dialog SIP OPTIONS request over a plain socket: is anything SIP listening there?

No pjsua2 here, on purpose: a pre-flight check must say *why* a platform
cannot be reached (a name that does not resolve, a closed port, silence, a
TLS handshake that fails), which a full SIP stack hides behind a generic
408 after 32 s.  Over UDP the request is retransmitted on RFC 3261's timer E
(500 ms, doubling) until the deadline; the socket is connected, so an ICMP
"port unreachable" surfaces at once as a refusal.  Over TCP and TLS it is one
connection, closed after the answer.
"""

from __future__ import annotations

import secrets
import socket
import ssl
import time
from dataclasses import dataclass, field

from harness.errors import TargetError

T1 = 0.5  # RFC 3261 timer T1
_MAX_MESSAGE = 65535


class NoAnswer(TargetError):
    """No SIP answer: ``reason`` is refused, timeout, tls or closed.

    ``connected`` is True when a TCP/TLS connection was made but no answer
    came on it: the port is open, and something there does not speak SIP.
    """

    def __init__(self, reason: str, message: str, connected: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.connected = connected


@dataclass(frozen=True)
class Reply:
    """The final response to our OPTIONS."""

    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names, first value
    elapsed: float = 0.0  # seconds from the first transmission
    connect_s: float | None = None  # TCP/TLS: seconds to connect
    received: float = 0.0  # wall-clock time (epoch seconds) it arrived

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class TlsFiles:
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    verify: bool = True


def options(address: str, port: int, transport: str, domain: str, timeout: float,
            tls: TlsFiles | None = None, server_name: str | None = None) -> Reply:
    """Send OPTIONS to ``address:port`` (an IP address) and return the final response.

    Raises ``NoAnswer`` when nothing answers within ``timeout`` seconds, the
    port is closed, or the TCP/TLS connection cannot be made.
    """
    if transport == "udp":
        return _over_udp(address, port, domain, timeout)
    return _over_stream(address, port, transport, domain, timeout, tls or TlsFiles(), server_name)


def request(local: tuple[str, int], address: str, port: int, transport: str, domain: str,
            call_id: str) -> bytes:
    """The OPTIONS request, with ``rport`` so the answer comes back to the port we sent from."""
    host = f"[{address}]" if ":" in address else address
    me = f"[{local[0]}]" if ":" in local[0] else local[0]
    param = "" if transport == "udp" else f";transport={transport}"
    scheme = "sips" if transport == "tls" else "sip"
    lines = [
        f"OPTIONS {scheme}:{host}:{port}{param} SIP/2.0",
        f"Via: SIP/2.0/{transport.upper()} {me}:{local[1]};branch=z9hG4bK{secrets.token_hex(8)};rport",
        "Max-Forwards: 70",
        f"From: <sip:ccharness-doctor@{domain}>;tag={secrets.token_hex(6)}",
        f"To: <{scheme}:{host}:{port}>",
        f"Call-ID: {call_id}",
        "CSeq: 1 OPTIONS",
        f"Contact: <sip:ccharness-doctor@{me}:{local[1]}{param}>",
        "Accept: application/sdp",
        "User-Agent: ccharness-doctor",
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def parse_response(data: bytes) -> Reply | None:
    """A SIP response's status line and headers, or None if ``data`` is not a response."""
    text = data.decode("utf-8", errors="replace")
    head = text.split("\r\n\r\n", 1)[0].replace("\r\n", "\n")
    lines = head.split("\n")
    first = lines[0].split(" ", 2)
    if len(first) < 2 or first[0] != "SIP/2.0" or not first[1].isdigit():
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            key = _COMPACT.get(name.strip().lower(), name.strip().lower())
            headers.setdefault(key, value.strip())
    return Reply(int(first[1]), first[2].strip() if len(first) > 2 else "", headers)


_COMPACT = {"i": "call-id", "v": "via", "f": "from", "t": "to", "l": "content-length"}


def _over_udp(address: str, port: int, domain: str, timeout: float) -> Reply:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    call_id = f"{secrets.token_hex(10)}@ccharness-doctor"
    began = time.monotonic()
    deadline = began + timeout
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect((address, port))
        message = request(sock.getsockname()[:2], address, port, "udp", domain, call_id)
        interval, resend = T1, began
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise NoAnswer("timeout", f"no answer to OPTIONS from {address}:{port}/udp within "
                                          f"{timeout:g}s")
            if now >= resend:
                _send(sock, message, address, port)
                resend, interval = now + interval, min(interval * 2, 4.0)
            sock.settimeout(max(0.01, min(resend, deadline) - now))
            try:
                data = sock.recv(_MAX_MESSAGE)
            except TimeoutError:
                continue
            except ConnectionRefusedError:
                raise NoAnswer("refused", f"{address}:{port}/udp refused the OPTIONS (ICMP port "
                                          f"unreachable): nothing listens there") from None
            reply = parse_response(data)
            if reply and reply.header("call-id") == call_id and reply.status >= 200:
                return Reply(reply.status, reply.reason, reply.headers, time.monotonic() - began,
                             received=time.time())


def _send(sock: socket.socket, message: bytes, address: str, port: int) -> None:
    try:
        sock.send(message)
    except ConnectionRefusedError:
        raise NoAnswer("refused", f"{address}:{port}/udp refused the OPTIONS (ICMP port "
                                  f"unreachable): nothing listens there") from None


def _over_stream(address: str, port: int, transport: str, domain: str, timeout: float,
                 tls: TlsFiles, server_name: str | None) -> Reply:
    began = time.monotonic()
    deadline = began + timeout
    where = f"{address}:{port}/{transport}"
    try:
        raw = socket.create_connection((address, port), timeout=timeout)
    except ConnectionRefusedError:
        raise NoAnswer("refused", f"{where} refused the connection: nothing listens there") from None
    except TimeoutError:
        raise NoAnswer("timeout", f"connecting to {where} timed out after {timeout:g}s") from None
    except OSError as exc:
        raise NoAnswer("refused", f"cannot connect to {where}: {exc.strerror or exc}") from None
    with raw:
        sock: socket.socket = raw
        if transport == "tls":
            sock = _handshake(raw, tls, server_name or address, where)
        connected = time.monotonic() - began
        call_id = f"{secrets.token_hex(10)}@ccharness-doctor"
        sock.sendall(request(sock.getsockname()[:2], address, port, transport, domain, call_id))
        reply = _read_final(sock, call_id, deadline, where)
        return Reply(reply.status, reply.reason, reply.headers, time.monotonic() - began, connected,
                     time.time())


def _handshake(raw: socket.socket, tls: TlsFiles, server_name: str, where: str) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=tls.ca_file)
    if not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if tls.cert_file:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    try:
        return context.wrap_socket(raw, server_hostname=server_name)
    except (ssl.SSLError, OSError) as exc:
        raise NoAnswer("tls", f"{where} accepted the connection but the TLS handshake failed: "
                              f"{getattr(exc, 'reason', None) or exc}") from None


def _read_final(sock: socket.socket, call_id: str, deadline: float, where: str) -> Reply:
    buffer = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise NoAnswer("timeout", f"{where} took the connection but sent no answer to OPTIONS",
                           connected=True)
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(_MAX_MESSAGE)
        except TimeoutError:
            continue
        except OSError as exc:
            raise NoAnswer("closed", f"{where} dropped the connection: {exc}", connected=True) from None
        if not chunk:
            raise NoAnswer("closed", f"{where} closed the connection without answering OPTIONS",
                           connected=True)
        buffer += chunk
        while b"\r\n\r\n" in buffer:
            head, _, rest = buffer.partition(b"\r\n\r\n")
            reply = parse_response(head)
            length = int(reply.header("content-length") or 0) if reply else 0
            if len(rest) < length:
                break
            buffer = rest[length:]
            if reply and reply.header("call-id") == call_id and reply.status >= 200:
                return reply
