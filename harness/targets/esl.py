"""FreeSWITCH's event socket (``mod_event_socket``), inbound mode: a client with deadlines.

The wire format, as ``mod_event_socket.c`` writes it: the server speaks first,
``Content-Type: auth/request`` and an empty line.  Every message is ``Key: Value``
header lines ended by an empty line, then -- when ``Content-Length`` is given --
a body of exactly that many bytes.  A command is one line ended by an empty
line.  ``auth <password>`` is answered by a ``command/reply`` whose
``Reply-Text`` is ``+OK accepted`` or ``-ERR invalid`` (and the server hangs
up); ``api <command>`` by an ``api/response`` whose body is the command's output
(``-ERR <command> Command not found!`` when no module provides it); ``exit`` by
``+OK bye``.  A client outside ``apply-inbound-acl`` gets a
``text/rude-rejection`` ("Access Denied, go away.") instead of the greeting.

Every connect and read has a deadline; a timeout names what was awaited.  The
password is a ``Secret``, revealed only into the ``auth`` line and blanked from
anything the server says back before it goes into a message.
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from harness.errors import TargetError
from harness.targets.model import Secret

DEFAULT_PORT = 8021
MAX_BODY = 16 * 1024 * 1024  # an api/response longer than this is not an answer we asked for
_END = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True)
class Message:
    """One message from the server: its headers and its body (empty without Content-Length)."""

    headers: dict[str, str]
    body: str = ""
    head: str = ""  # the header lines as sent, for messages about what is not ESL

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


class EslSession:
    """One authenticated event-socket connection to ``host:port``; use it as a context manager."""

    def __init__(self, host: str, port: int, password: Secret | None, timeout: float,
                 profile: Path | None = None, field: str = "adapter.esl") -> None:
        self.host, self.port, self.password = host, port, password
        self.timeout, self.profile, self.field = timeout, profile, field
        self.where = f"FreeSWITCH event socket at {host}:{port}"
        self._sock: socket.socket | None = None
        self._buf = b""

    def __repr__(self) -> str:
        return f"EslSession({self.host!r}, {self.port}, password={self.password!r})"

    def __enter__(self) -> Self:
        self._connect()
        try:
            self._greeting()
            self._auth()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc is None:  # after a failure the stream may be mid-message: just hang up
                self._exit()
        finally:
            self.close()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    # -- the session -------------------------------------------------------------------------
    def api(self, command: str, hint: str = "") -> str:
        """``api <command>``: the body of its ``api/response``, within the timeout.

        A body starting ``-ERR`` (or the older ``<command>: Command not found!``) is a
        ``TargetError`` naming the command and the server's words, with ``hint``.
        """
        deadline = time.monotonic() + self.timeout
        self._send(f"api {command}", command)
        while True:
            message = self._message(deadline, f"the api/response to 'api {command}'")
            if message.content_type == "api/response":
                break
            if message.content_type in ("text/disconnect-notice", "text/rude-rejection"):
                raise TargetError(f"{self.where} hung up instead of answering 'api {command}': "
                                  f"{self._said(message)}")
        body = message.body
        first = body.strip().splitlines()[0] if body.strip() else ""
        if first.startswith("-ERR") or first.endswith("Command not found!"):
            more = hint or "see the FreeSWITCH log (fs_cli) for why"
            raise TargetError(f"{self.where} answered 'api {command}' with "
                              f"{self._redact(first)[:200]!r} (hint: {more})")
        return body

    def bgapi(self, command: str, hint: str = "") -> str:
        """``bgapi <command>``: FreeSWITCH runs it in the background and answers at once with its
        job id (``command/reply``, ``Reply-Text: +OK Job-UUID: ...``); the job's own result comes
        later, as an event this session does not wait for. A refusal is a ``TargetError``."""
        deadline = time.monotonic() + self.timeout
        self._send(f"bgapi {command}", command.split(" ")[0])
        while True:
            message = self._message(deadline, f"the reply to 'bgapi {command.split(' ')[0]}'")
            if message.content_type == "command/reply":
                break
            if message.content_type in ("text/disconnect-notice", "text/rude-rejection"):
                raise TargetError(f"{self.where} hung up instead of answering 'bgapi': {self._said(message)}")
        text = message.headers.get("Reply-Text", "")
        if not text.startswith("+OK"):
            raise TargetError(f"{self.where} refused 'bgapi {command.split(' ')[0]}': "
                              f"{self._redact(text)[:200]!r} (hint: {hint or 'see the FreeSWITCH log (fs_cli)'})")
        return message.headers.get("Job-UUID") or text.removeprefix("+OK Job-UUID:").strip()

    def _greeting(self) -> None:
        message = self._message(time.monotonic() + self.timeout, "the greeting (auth/request)")
        if message.content_type == "auth/request":
            return
        if message.content_type == "text/rude-rejection":
            raise TargetError(
                f"{self.where} turned this host away by its ACL: {self._said(message)} (hint: add "
                f"this host's address to the list event_socket.conf.xml's apply-inbound-acl names, "
                f"or change apply-inbound-acl; the default, loopback.auto, admits only the "
                f"FreeSWITCH host itself)")
        raise TargetError(f"{self.where} is not a FreeSWITCH event socket: it greeted with "
                          f"{self._said(message)}, not Content-Type: auth/request (hint: is "
                          f"{self.field}.port event_socket.conf.xml's listen-port?)")

    def _auth(self) -> None:
        secret = self.password.reveal() if self.password is not None else ""
        if "\r" in secret or "\n" in secret:
            raise TargetError(f"{self.field}.password for {self.where} holds a line break, which "
                              f"the event socket cannot carry")
        self._send(f"auth {secret}", "auth")
        reply = self._message(time.monotonic() + self.timeout, "the answer to auth")
        text = reply.headers.get("Reply-Text", "")
        if reply.content_type == "command/reply" and text.startswith("+OK"):
            return
        env = (f"environment variable {self.password.env}" if self.password is not None
               else f"{self.field}.password (none is given)")
        said = repr(self._redact(text)[:120]) if text else self._said(reply)
        raise TargetError(
            f"{self.where} refused the password ({said}) (hint: it must be event_socket.conf.xml's "
            f"password param; check {env} and {self.field} in {self.profile})")

    def _exit(self) -> None:
        if self._sock is None:
            return
        try:
            self._send("exit", "exit")
            self._message(time.monotonic() + min(self.timeout, 2.0), "the answer to exit")
        except TargetError:
            pass  # the answers are in; a server that hangs up without "+OK bye" is fine

    # -- the wire ------------------------------------------------------------------------------
    def _connect(self) -> None:
        hint = (f"is mod_event_socket loaded, with event_socket.conf.xml's listen-ip reachable "
                f"from here and listen-port {self.port}? check {self.field} in {self.profile}")
        self._buf = b""
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except TimeoutError:
            raise TargetError(f"connecting to {self.where} timed out after {self.timeout:g}s "
                              f"(hint: {hint}; a firewall may drop the packets)") from None
        except OSError as exc:
            raise TargetError(f"cannot connect to {self.where}: {_reason(exc)} "
                              f"(hint: {hint})") from None

    def _send(self, line: str, what: str) -> None:
        assert self._sock is not None
        if "\n" in line or "\r" in line:
            raise TargetError(f"{self.where}: the command {what!r} holds a line break, which the "
                              f"event socket cannot carry")
        try:
            self._sock.sendall(f"{line}\n\n".encode())
        except OSError as exc:
            raise TargetError(f"{self.where}: sending {what} failed: {_reason(exc)}") from None

    def _message(self, deadline: float, what: str) -> Message:
        while (end := _END.search(self._buf)) is None:
            self._receive(deadline, what)
        head = self._buf[:end.start()].decode("utf-8", errors="replace")
        rest = self._buf[end.end():]
        headers = parse_headers(head)
        length = headers.get("Content-Length")
        if length is None:
            self._buf = rest
            return Message(headers, head=head)
        size = int(length) if length.isdigit() else -1
        if not 0 <= size <= MAX_BODY:
            raise TargetError(f"{self.where} sent a malformed message while we waited for {what}: "
                              f"Content-Length {self._redact(length)[:40]!r} is not a size up to "
                              f"{MAX_BODY} bytes")
        self._buf = rest
        while len(self._buf) < size:
            self._receive(deadline, f"the rest of a {size}-byte body ({what})")
        body, self._buf = self._buf[:size], self._buf[size:]
        return Message(headers, body.decode("utf-8", errors="replace"), head)

    def _receive(self, deadline: float, what: str) -> None:
        assert self._sock is not None
        left = deadline - time.monotonic()
        try:
            if left <= 0:
                raise TimeoutError
            self._sock.settimeout(left)
            chunk = self._sock.recv(65536)
        except TimeoutError:
            raise TargetError(f"{self.where} went silent: waited {self.timeout:g}s for {what}; "
                              f"{self._so_far()} (hint: FreeSWITCH is up but stuck, or this is "
                              f"not its event socket; raise adapter.timeout in {self.profile} if "
                              f"it is only slow)") from None
        except OSError as exc:
            raise TargetError(f"{self.where}: the connection broke while waiting for {what}: "
                              f"{_reason(exc)}") from None
        if not chunk:
            raise TargetError(f"{self.where} closed the connection while we waited for {what}; "
                              f"{self._so_far()}")
        self._buf += chunk

    def _so_far(self) -> str:
        if not self._buf.strip():
            return "nothing more had arrived"
        shown = self._redact(self._buf[:80].decode("utf-8", errors="replace"))
        return f"{len(self._buf)} bytes of an unfinished message had arrived: {shown!r}"

    def _said(self, message: Message) -> str:
        text = message.body.strip() or ", ".join(f"{k}: {v}" for k, v in message.headers.items()) \
            or message.head.strip()
        return repr(self._redact(text)[:120])

    def _redact(self, text: str) -> str:
        """``text`` with the password blanked, should the server ever echo it."""
        if self.password is None:
            return text
        try:
            secret = self.password.reveal()
        except TargetError:
            return text
        return text.replace(secret, "***") if secret else text


def parse_headers(text: str) -> dict[str, str]:
    """``Key: Value`` lines as a dict (the first of a repeated key wins)."""
    headers: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            headers.setdefault(key.strip(), value.strip())
    return headers


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc) or type(exc).__name__).lower()
