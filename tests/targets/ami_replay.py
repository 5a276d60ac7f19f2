"""A fake AMI that answers with the bytes a real Asterisk 22.10.1 sent (``tests/data/asterisk22/ami``).

Each capture is one TCP session: ``NAME.client.ami`` the client's bytes,
``NAME.server.ami`` everything the server sent, from the banner to the hang-up.
The replay cuts both into messages (``\\r\\n\\r\\n``), and for each action the
harness sends it:

* checks the request against the captured one of the same ``Action``: the
  same header names spelled the same way, the same values (except ``ActionID``
  and the redacted ``Secret``), ``\\r\\n`` line ends, an ``ActionID`` not used
  before in the session;
* answers with the server messages that carried the captured ActionID,
  byte for byte, the ActionID's value swapped for the harness's (its line
  stays where Asterisk put it: second in a Response, last in a QueueMember);
* after ``Response: Error`` to a Login, or ``Response: Goodbye``, hangs up, as
  Asterisk does.

Actions come from several captures of one system state (QueueStatus from one
file, QueueSummary from another).  The server never raises into pytest: a
request that does not match is kept in ``errors`` and the line is dropped.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).parents[1] / "data" / "asterisk22" / "ami"
END = b"\r\n\r\n"
REDACTED = ("ActionID", "Secret")  # values not compared: ours differ, the capture's is redacted
WAIT = 5.0  # seconds any socket of the fake waits; no test takes longer


def blocks(data: bytes) -> list[bytes]:
    """``data`` cut into messages, each without its closing empty line."""
    assert data.endswith(END), "a capture ends with a whole message"
    return data[:-len(END)].split(END)


def headers(block: bytes) -> list[tuple[str, str]]:
    """The ``Key: Value`` lines of a message, in order, split at the first ``": "``."""
    pairs = []
    for line in block.decode().split("\r\n"):
        key, sep, value = line.partition(": ")
        assert sep, f"not a 'Key: Value' line: {line!r}"
        pairs.append((key, value))
    return pairs


@dataclass
class Capture:
    """One captured session: the banner, the actions sent and the answers by ActionID."""

    name: str
    banner: bytes
    actions: list[list[tuple[str, str]]]
    answers: dict[str, list[bytes]]

    @classmethod
    def load(cls, name: str) -> Capture:
        server = (DATA / f"{name}.server.ami").read_bytes()
        banner, _, rest = server.partition(b"\r\n")
        answers: dict[str, list[bytes]] = {}
        for block in blocks(rest):
            action_id = dict(headers(block)).get("ActionID", "")
            answers.setdefault(action_id, []).append(block)
        actions = [headers(b) for b in blocks((DATA / f"{name}.client.ami").read_bytes())]
        return cls(name, banner + b"\r\n", actions, answers)

    def action(self, name: str) -> list[tuple[str, str]]:
        for action in self.actions:
            if action[0] == ("Action", name):
                return action
        raise KeyError(f"{self.name} has no {name} action")


@dataclass
class AmiReplay:
    """Serves ``Login`` and ``Logoff`` from ``session`` and any other action from ``plays``."""

    plays: dict[str, str]  # action -> capture holding it
    session: str = "ami-02-login-ping-logoff"
    errors: list[str] = field(default_factory=list)
    requests: list[bytes] = field(default_factory=list)  # every request, as sent

    def __post_init__(self) -> None:
        self.captures = {n: Capture.load(n) for n in {self.session, *self.plays.values()}}
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)  # the accept loop looks at stop this often
        self.port = int(self.listener.getsockname()[1])
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(WAIT)
        self.listener.close()

    @property
    def actions(self) -> list[str]:
        return [dict(headers(r[:-len(END)])).get("Action", "?") for r in self.requests]

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn:
                conn.settimeout(WAIT)
                conn.sendall(self.captures[self.session].banner)
                self._converse(conn)
        except Exception as exc:  # noqa: BLE001 -- kept for the test thread
            self.errors.append(f"{type(exc).__name__}: {exc}")

    def _converse(self, conn: socket.socket) -> None:
        buf, used = b"", set()
        while not self.stop.is_set():
            while END not in buf:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                buf += chunk
            raw, _, buf = buf.partition(END)
            self.requests.append(raw + END)
            if not self._answer(conn, raw, used):
                return

    def _answer(self, conn: socket.socket, raw: bytes, used: set[str]) -> bool:
        """Checks one request and sends its captured answer; False: hang up."""
        if b"\n" in raw.replace(b"\r\n", b""):
            self.errors.append(f"a request has a line not ended by CR LF: {raw!r}")
            return False
        sent = headers(raw)
        name = dict(sent).get("Action", "")
        source = self.session if name in ("Login", "Logoff") else self.plays.get(name)
        if source is None:
            self.errors.append(f"Asterisk was not captured answering Action: {name!r}")
            return False
        capture = self.captures[source]
        wanted = capture.action(name)
        problem = _differs(sent, wanted, used)
        if problem:
            self.errors.append(f"Action: {name}: {problem}")
            return False
        ours, theirs = dict(sent)["ActionID"], dict(wanted)["ActionID"]
        used.add(ours)
        old, new = f"ActionID: {theirs}\r\n".encode(), f"ActionID: {ours}\r\n".encode()
        answer = capture.answers[theirs]
        conn.sendall(b"".join((block + END).replace(old, new) for block in answer))
        first = dict(headers(answer[0])).get("Response")
        return not (first == "Goodbye" or (name == "Login" and first == "Error"))


def _differs(sent: list[tuple[str, str]], wanted: list[tuple[str, str]], used: set[str]) -> str:
    """What the request does differently from the captured one, or ''."""
    keys, want_keys = [k for k, _ in sent], [k for k, _ in wanted]
    if sorted(keys) != sorted(want_keys):
        return f"header names {keys} where Asterisk was sent {want_keys}"
    for (key, value), (_, expected) in zip(sorted(sent), sorted(wanted)):
        if key not in REDACTED and value != expected:
            return f"{key}: {value!r} where Asterisk was sent {expected!r}"
    action_id = dict(sent)["ActionID"]
    if not action_id or action_id in used:
        return f"ActionID {action_id!r} is empty or was used before in this session"
    return ""
