"""Queue state from the Asterisk Manager Interface (AMI): a client with deadlines, and the mapping.

AMI is a line protocol over TCP (default port 5038): the server greets with
one line (``Asterisk Call Manager/X.Y.Z``), then every message is
``Key: Value`` lines ended by an empty line.  The client logs in
(``Action: Login`` with ``Events: off``, so no unsolicited events arrive),
asks ``QueueStatus`` (``QueueParams``, ``QueueMember`` and ``QueueEntry``
events up to ``QueueStatusComplete``) and ``QueueSummary`` (up to
``QueueSummaryComplete``), and logs off.  Every read has a deadline; a
timeout names what was awaited and what had arrived.  The secret is a
``Secret``, revealed only into the Login action and never into a message.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from harness.errors import TargetError
from harness.targets.model import Secret

DEFAULT_PORT = 5038
BANNER = "Asterisk Call Manager/"
Message = dict[str, str]
_END = re.compile(rb"\r?\n\r?\n")
# AST_DEVICE_* as QueueMember's Status gives them
DEVICE_STATES = ("UNKNOWN", "NOT_INUSE", "INUSE", "BUSY", "INVALID", "UNAVAILABLE", "RINGING",
                 "RINGINUSE", "ONHOLD")
_UNREGISTERED = {4, 5}  # INVALID, UNAVAILABLE: no device behind the interface
_IN_USE = {2, 3, 7, 8}  # INUSE, BUSY, RINGINUSE, ONHOLD


class AmiSession:
    """One AMI login at ``host:port`` as ``username``; use it as a context manager."""

    def __init__(self, host: str, port: int, username: str, secret: Secret | None,
                 timeout: float, profile: Path | None = None) -> None:
        self.host, self.port, self.username = host, port, username
        self.secret, self.timeout, self.profile = secret, timeout, profile
        self.where = f"AMI at {host}:{port}"
        self._sock: socket.socket | None = None
        self._buf = b""
        self._ids = 0

    def __repr__(self) -> str:
        return f"AmiSession({self.host!r}, {self.port}, user={self.username!r}, secret={self.secret!r})"

    def __enter__(self) -> Self:
        self._connect()
        try:
            self._login()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc is None:  # after a failure the stream may be mid-list: just hang up
                self._logoff()
        finally:
            self.close()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    # -- the session -------------------------------------------------------------------------
    def _connect(self) -> None:
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except TimeoutError:
            raise TargetError(f"connecting to {self.where} timed out after {self.timeout:g}s "
                              f"(hint: {self._where_hint()})") from None
        except OSError as exc:
            raise TargetError(f"cannot connect to {self.where}: {_reason(exc)} "
                              f"(hint: {self._where_hint()})") from None
        deadline = time.monotonic() + self.timeout
        banner = self._line(deadline, "the AMI greeting (Asterisk Call Manager/...)")
        if not banner.startswith(BANNER):
            raise TargetError(f"{self.where} is not AMI: it greeted with {banner[:80]!r}, not "
                              f"'{BANNER}...' (hint: is adapter.ami.port the manager.conf port?)")

    def _login(self) -> None:
        secret = self.secret.reveal() if self.secret is not None else ""
        for field, value in (("adapter.ami.username", self.username), ("adapter.ami.secret", secret)):
            if "\r" in value or "\n" in value:
                raise TargetError(f"{field} for {self.where} holds a line break, which AMI cannot carry")
        action_id = self._send("Login", Username=self.username, Secret=secret, Events="off")
        reply = self._reply(action_id, "Login", time.monotonic() + self.timeout)
        if reply.get("Response") != "Success":
            env = f"environment variable {self.secret.env}" if self.secret else "adapter.ami.secret"
            raise TargetError(
                f"{self.where} refused the login of user {self.username!r}: "
                f"{reply.get('Message') or reply.get('Response') or 'no reason given'} (hint: check "
                f"the secret in {env}, the [{self.username}] section of manager.conf and its "
                f"permit=/deny= lines, and adapter.ami.username in {self.profile})")

    def _logoff(self) -> None:
        if self._sock is None:
            return
        try:
            action_id = self._send("Logoff")
            self._reply(action_id, "Logoff", time.monotonic() + min(self.timeout, 2.0))
        except TargetError:
            pass  # the answers are in; a server that hangs up without "Goodbye" is fine

    def event_list(self, action: str, complete: str, **fields: str) -> list[Message]:
        """Send ``action`` and collect its events up to the ``complete`` event, within the timeout."""
        deadline = time.monotonic() + self.timeout
        action_id = self._send(action, **fields)
        reply = self._reply(action_id, action, deadline)
        if reply.get("Response") != "Success":
            raise TargetError(f"{self.where} refused {action} for user {self.username!r}: "
                              f"{reply.get('Message') or 'no reason given'} (hint: check the "
                              f"read= and write= permissions of [{self.username}] in manager.conf)")
        events: list[Message] = []
        while True:
            what = f"the rest of the {action} event list (up to {complete})"
            message = self._message(deadline, what, events)
            if message.get("ActionID") != action_id:
                continue  # not ours: an event that slipped through Events: off
            if message.get("Event") == complete:
                return events
            events.append(message)

    # -- the wire ------------------------------------------------------------------------------
    def _send(self, action: str, **fields: str) -> str:
        self._ids += 1
        action_id = f"ccharness-{self._ids}"
        lines = [f"Action: {action}", *(f"{k}: {v}" for k, v in fields.items()),
                 f"ActionID: {action_id}"]
        assert self._sock is not None
        try:
            self._sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        except OSError as exc:
            raise TargetError(f"{self.where}: sending {action} failed: {_reason(exc)}") from None
        return action_id

    def _reply(self, action_id: str, action: str, deadline: float) -> Message:
        """The Response to our action (one without an ActionID counts as ours, as old servers send)."""
        while True:
            message = self._message(deadline, f"the answer to {action}", [])
            if "Response" in message and message.get("ActionID") in (action_id, None):
                return message

    def _message(self, deadline: float, what: str, seen: list[Message]) -> Message:
        while (end := _END.search(self._buf)) is None:
            self._receive(deadline, what, seen)
        raw, self._buf = self._buf[:end.start()], self._buf[end.end():]
        return parse_message(raw.decode("utf-8", errors="replace"))

    def _line(self, deadline: float, what: str) -> str:
        while b"\n" not in self._buf:
            self._receive(deadline, what, [])
        raw, _, self._buf = self._buf.partition(b"\n")
        return raw.decode("utf-8", errors="replace").strip()

    def _receive(self, deadline: float, what: str, seen: list[Message]) -> None:
        assert self._sock is not None
        left = deadline - time.monotonic()
        try:
            if left <= 0:
                raise TimeoutError
            self._sock.settimeout(left)
            chunk = self._sock.recv(65536)
        except TimeoutError:
            raise TargetError(f"{self.where} went silent: waited {self.timeout:g}s for {what}; "
                              f"{_so_far(seen, self._buf)} (hint: the manager is up but stuck; "
                              f"raise adapter.timeout in {self.profile} if it is only slow)") from None
        except OSError as exc:
            raise TargetError(f"{self.where}: the connection broke while waiting for {what}: "
                              f"{_reason(exc)}") from None
        if not chunk:
            raise TargetError(f"{self.where} closed the connection while we waited for {what}; "
                              f"{_so_far(seen, self._buf)}")
        self._buf += chunk

    def _where_hint(self) -> str:
        return (f"is manager.conf's [general] enabled = yes, with port and bindaddr reaching us? "
                f"check adapter.ami in {self.profile}")


def parse_message(text: str) -> Message:
    """``Key: Value`` lines as a dict (the first of a repeated key wins)."""
    message: Message = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip():
            message.setdefault(key.strip(), value.strip())
    return message


def _so_far(seen: list[Message], pending: bytes) -> str:
    if not seen:
        got = "nothing had arrived"
    else:
        kinds = ", ".join(m.get("Event") or m.get("Response") or "?" for m in seen[:8])
        got = f"got {len(seen)} message(s) so far: {kinds}{', ...' if len(seen) > 8 else ''}"
    return got + (f", then {len(pending)} bytes of an unfinished one" if pending.strip() else "")


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc) or type(exc).__name__).lower()


# -- the mapping ------------------------------------------------------------------------------
def agent_username(member: Message) -> str | None:
    """The SIP user behind a queue member: ``PJSIP/2001`` -> ``2001``.

    The dialled interface (QueueStatus calls it ``Location``; other events
    ``Interface``) is preferred, then ``StateInterface``; a ``Local/2001@ctx``
    channel, a ``hint:2001@ctx`` state or the member's name are fallbacks.
    """
    interfaces = [member.get(k, "") for k in ("Location", "Interface", "StateInterface")]
    for text in interfaces:
        tech, _, rest = text.partition("/")
        if rest and tech.lower() != "local":
            return rest.split("/")[0].split("@")[0] or None
    for text in interfaces:
        tech, sep, rest = text.partition("/") if "/" in text else text.partition(":")
        if sep and tech.lower() in ("local", "hint"):
            return rest.split("@")[0] or None
    return member.get("Name") or member.get("MemberName") or None


def queue_state(status: Iterable[Message], summary: Iterable[Message]) -> dict[str, Any]:
    """``QueueStatus`` and ``QueueSummary`` events in the shape of the reference's queue state.

    ``agents`` is keyed by SIP username, over the queues an agent serves
    (app_queue counts calls per queue membership; ``queues[q].members`` keeps
    those; see :func:`calls_taken` for the agent's); ``last_call`` is the epoch
    second the agent's last call ended, None for never.
    """
    queues: dict[str, dict[str, Any]] = {}
    agents: dict[str, dict[str, Any]] = {}
    seats: dict[str, list[dict[str, Any]]] = {}
    for event in status:
        kind, name = event.get("Event"), event.get("Queue", "")
        if kind == "QueueParams":
            _queue(queues, name).update(_params(event))
        elif kind == "QueueMember":
            _member(_queue(queues, name), agents, seats, name, event)
        elif kind == "QueueEntry":
            _queue(queues, name)["waiting"].append(_entry(event))
    for event in summary:
        if event.get("Event") == "QueueSummary":
            _queue(queues, event.get("Queue", "")).update(_summary(event))
    for user, agent in agents.items():
        agent["calls_taken"] = calls_taken(seats[user])
    return {"agents": agents, "queues": queues}


def calls_taken(seats: list[dict[str, Any]]) -> int:
    """An agent's calls, from its memberships' ``calls_taken`` and ``last_call``.

    app_queue counts a call in the membership of the queue that took it --
    unless queues.conf's ``shared_lastcall = yes``: then it counts the call,
    and stamps ``LastCall``, in every queue the member is in (Asterisk 22 wrote
    ``CallsTaken: 1`` under a queue the call never went through).  So when two
    or more memberships carry the very same ``LastCall``, they show the same
    calls, and the largest count is the agent's; otherwise the counts add up.
    (Two calls of one agent ending in the same second through different
    queues would be counted once.)
    """
    stamped = [s["last_call"] for s in seats if s["last_call"]]
    counts = [s["calls_taken"] for s in seats]
    if len(stamped) > 1 and len(set(stamped)) == 1:
        return int(max(counts))
    return int(sum(counts))


def _queue(queues: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    return queues.setdefault(name, {"strategy": None, "agents": [], "members": {}, "waiting": []})


def _params(event: Message) -> dict[str, Any]:
    return {"strategy": event.get("Strategy") or None, "calls": _int(event.get("Calls")),
            "completed": _int(event.get("Completed")), "abandoned": _int(event.get("Abandoned")),
            "max": _int(event.get("Max"))}


def _summary(event: Message) -> dict[str, Any]:
    return {"logged_in": _int(event.get("LoggedIn")), "available": _int(event.get("Available")),
            "callers": _int(event.get("Callers")),
            "longest_hold_time": _int(event.get("LongestHoldTime"))}


def _entry(event: Message) -> dict[str, Any]:
    return {"position": _int(event.get("Position")), "waited": _int(event.get("Wait")),
            "channel": event.get("Channel"), "caller": event.get("CallerIDNum"),
            "uniqueid": event.get("Uniqueid")}


def _member(queue: dict[str, Any], agents: dict[str, dict[str, Any]],
            seats: dict[str, list[dict[str, Any]]], name: str, event: Message) -> None:
    user = agent_username(event)
    if user is None:
        return
    status = _int(event.get("Status"))
    seat = {"calls_taken": _int(event.get("CallsTaken")) or 0,
            "last_call": float(_int(event.get("LastCall")) or 0) or None,
            "registered": status is not None and status not in _UNREGISTERED and status != 0,
            "busy": event.get("InCall") == "1" or status in _IN_USE,
            "paused": event.get("Paused") == "1",
            "device_state": DEVICE_STATES[status] if status is not None
            and 0 <= status < len(DEVICE_STATES) else None,
            "interface": event.get("Location") or event.get("Interface")}
    if user not in queue["agents"]:
        queue["agents"].append(user)
    queue["members"][user] = seat
    agent = agents.setdefault(user, {"calls_taken": 0, "last_call": None, "registered": False,
                                     "busy": False, "paused": False, "queues": []})
    seats.setdefault(user, []).append(seat)
    agent["last_call"] = max(filter(None, (agent["last_call"], seat["last_call"])), default=None)
    for flag in ("registered", "busy", "paused"):
        agent[flag] = agent[flag] or seat[flag]
    agent["queues"].append(name)


def _int(text: str | None) -> int | None:
    try:
        return int(str(text).strip())
    except ValueError:
        return None
