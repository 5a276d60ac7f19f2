"""A fake ARI that answers with the bytes a real Asterisk 22.10.1 sent (``tests/data/asterisk22/ari``).

Every answer is a captured ``NAME.response.http`` sent as it is: status line,
``Server``, ``Date``, ``Cache-Control``, ``Content-type`` (so spelled), body
and all.  Which one answers a request follows what Asterisk was seen doing:

* a request without valid HTTP Basic credentials gets the 401 (Asterisk checks
  them before it routes, so an unknown path gets 401 too);
* a path captured in this system state gets its captured answer;
* ``/ari/recordings/stored/{name}`` and ``.../{name}/file`` for a name not
  stored get the 404 ``Recording not found``;
* any other path under ``/ari`` gets the 404 ``Resource not found``, a path
  outside it the HTML 404 page.

The connection stays open between requests, as Asterisk keeps it, unless the
request says ``Connection: close``.  Each request is checked (``GET``,
``HTTP/1.1``, a ``Host``, no body); what is wrong is kept in ``errors`` --
the server never raises into pytest.
"""

from __future__ import annotations

import base64
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

DATA = Path(__file__).parents[1] / "data" / "asterisk22" / "ari"
USER, PASSWORD = "harness", "Ari-t3st-pw"
STORED = "/ari/recordings/stored"
WAIT = 5.0  # seconds any socket of the fake waits; no test takes longer
EMPTY = {STORED: "ari-02-recordings-stored-empty"}  # state S0: nothing recorded yet
CALL3 = "rec-bkQ8HmxzhhxPmezh0JDRg2q2BtKi5pe6"
AFTER_CALLS = {  # state S4: three recordings; only call 3's was read and downloaded
    STORED: "ari-20-recordings-stored-several",
    f"{STORED}/{CALL3}": "ari-21-recording-exists",
    f"{STORED}/{CALL3}/file": "ari-22-recording-file-exists",
}


def response(name: str) -> bytes:
    return (DATA / f"{name}.response.http").read_bytes()


def body(name: str) -> bytes:
    return response(name).partition(b"\r\n\r\n")[2]


@dataclass
class AriReplay:
    """Answers as Asterisk did in one system state: ``captured`` maps a path to its capture."""

    captured: dict[str, str]
    stored: tuple[str, ...] = ()  # the names the state's list holds
    errors: list[str] = field(default_factory=list)
    seen: list[tuple[str, bool]] = field(default_factory=list)  # (path, had credentials)

    def __post_init__(self) -> None:
        self.stop = threading.Event()
        self.conns: list[socket.socket] = []  # open ones are cut at close: clients pool them
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)  # the accept loop looks at stop this often
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def close(self) -> None:
        self.stop.set()
        for conn in self.conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)  # wakes its thread from recv()
            except OSError:
                pass  # closed already
        for thread in self.threads:
            thread.join(WAIT)
        self.listener.close()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.conns.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn:
                conn.settimeout(WAIT)
                buf = b""
                while not self.stop.is_set():
                    while b"\r\n\r\n" not in buf:
                        chunk = conn.recv(4096)
                        if not chunk:
                            return
                        buf += chunk
                    head, _, buf = buf.partition(b"\r\n\r\n")
                    if not self._answer(conn, head.decode("latin-1")):
                        return
        except TimeoutError:
            return  # the client kept the connection and went quiet: a pool does that
        except Exception as exc:  # noqa: BLE001 -- kept for the test thread
            self.errors.append(f"{type(exc).__name__}: {exc}")

    def _answer(self, conn: socket.socket, head: str) -> bool:
        """Sends the captured answer to one request; False: close the connection."""
        line, *rest = head.split("\r\n")
        fields = {k.lower(): v for k, _, v in (h.partition(": ") for h in rest)}
        method, _, tail = line.partition(" ")
        path, _, version = tail.rpartition(" ")
        if method != "GET" or version != "HTTP/1.1" or "host" not in fields \
                or fields.get("content-length", "0") != "0":
            self.errors.append(f"not a request Asterisk was sent: {head!r}")
            return False
        self.seen.append((path, "authorization" in fields))
        conn.sendall(response(self._capture(path, fields.get("authorization"))))
        return fields.get("connection", "").lower() != "close"

    def _capture(self, path: str, authorization: str | None) -> str:
        wanted = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if authorization is None:
            return "ari-10-recordings-stored-noauth"
        if authorization != f"Basic {wanted}":
            return "ari-10-recordings-stored-wrongpass"
        if path in self.captured:
            return self.captured[path]
        parts = path.removeprefix(f"{STORED}/").split("/")
        if path.startswith(f"{STORED}/") and len(parts) in (1, 2) and parts[-1:] != [""]:
            if unquote(parts[0]) in self.stored:
                self.errors.append(f"{path}: Asterisk was not captured answering this")
            elif len(parts) == 1 or parts[1] == "file":
                return "ari-03-recording-missing" if len(parts) == 1 else "ari-04-recording-file-missing"
        return "ari-05-unknown-path" if path.startswith("/ari/") else "ari-06-unknown-path-outside-ari"
