"""The Asterisk adapter over real sockets on 127.0.0.1: ARI's stored recordings and AMI.

Two servers are started here, both on loopback:

* an HTTP server (stdlib ``http.server`` in a thread) implementing the three
  stored-recording operations of ARI as ``recordings.json`` (Asterisk 22)
  describes them -- ``GET /ari/recordings/stored`` -> ``[{name, format}]``,
  ``.../{recordingName}`` (404 "Recording not found"), ``.../{recordingName}/file``
  (the file; 404) -- behind HTTP Basic auth (401 with ARI's realm), serving
  real WAV files from a folder;
* a TCP server replaying AMI transcripts (see ``TRANSCRIPTS``).

Neither server raises into pytest: failures are kept and re-raised by the
fixture when the test ends.
"""

from __future__ import annotations

import base64
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from harness.audio.marker import marker_for, render
from harness.audio.wav import write_wav
from harness.errors import ExpectationFailed, ProfileError, TargetError
from harness.targets.adapter import NotSupported, Platform
from harness.targets.ami import agent_username, parse_message
from harness.targets.asterisk import AsteriskPlatform
from harness.targets.model import Secret, Target
from harness.targets.profile import load_target
from harness.targets.recording_name import AnyName, NameTemplate
from harness.targets.registry import adapter_for
from tests.ports import free_tcp_port
from tests.targets.recording_check import step_run

ARI_USER, ARI_PASSWORD, ARI_ENV = "harness", "Ari-t3st-pw", "CC_TEST_AST_ARI_PW"
AMI_USER, AMI_SECRET, AMI_ENV = "harness", "Ami-t3st-secret", "CC_TEST_AST_AMI_SECRET"
CALL = "kZ1OhsT50pM8b0G7QaFAJzepOzIH5gOR"  # as pjsua2 makes them
NOW = datetime.now(UTC)
WINDOW = (NOW - timedelta(minutes=10), NOW + timedelta(minutes=10))
EXAMPLE = Path(__file__).parents[2] / "fixtures" / "targets" / "asterisk.example.yaml"


def uniqueid(moment: datetime, seq: int = 7) -> str:
    return f"{int(moment.timestamp())}.{seq}"


def target(url: str, ami_port: int | None = None, **extra: Any) -> Target:
    adapter: dict[str, Any] = {"type": "asterisk", "url": url, "username": ARI_USER,
                               "password": Secret(ARI_ENV), **extra}
    if ami_port is not None:
        adapter["ami"] = {"host": "127.0.0.1", "port": ami_port, "username": AMI_USER,
                          "secret": Secret(AMI_ENV)}
    return Target(name="t", path=Path("/profiles/asterisk.yaml"), host="127.0.0.1", port=5060,
                  transport="udp", domain="127.0.0.1", outbound_proxy=None, managed="none",
                  dids={}, accounts={}, prompts=None, adapter=adapter)


def recording(path: Path, call_id: str = "someone-else", seconds: float = 2.0) -> Path:
    """A real 8 kHz WAV holding the caller's marker of ``call_id`` at 0.3 s."""
    track = np.zeros(int(seconds * 8000), np.float32)
    tone = render(marker_for(call_id, "caller"))
    track[2400:2400 + tone.size] += tone
    path.parent.mkdir(parents=True, exist_ok=True)
    write_wav(path, track)
    return path


# -- ARI: the stored-recording resource, as recordings.json describes it ----------------------
class AriHandler(http.server.BaseHTTPRequestHandler):
    server: AriServer

    def do_GET(self) -> None:
        try:
            self.server.seen.append((self.path, "Authorization" in self.headers))
            self._route()
        except Exception as exc:  # noqa: BLE001 -- kept for the test thread; the client sees a 500
            self.server.errors.append(exc)
            self._json(500, {"message": "test server failed"})

    def _route(self) -> None:
        if not self._authorised():
            return self._json(401, {"message": "Authentication required"},
                              {"WWW-Authenticate": 'Basic realm="Asterisk REST Interface"'})
        parts = self.path.split("?")[0].split("/")[1:]
        if parts[:3] != ["ari", "recordings", "stored"] or len(parts) > 5 or \
                (len(parts) == 5 and parts[4] != "file"):
            return self._json(404, {"message": "Resource not found"})
        if len(parts) == 3:
            return self._json(200, [{"name": n, "format": f} for n, f in self.server.stored()])
        name = unquote(parts[3])
        fmt = dict(self.server.stored()).get(name)
        if fmt is None:
            return self._json(404, {"message": "Recording not found"})
        if len(parts) == 4:
            return self._json(200, {"name": name, "format": fmt})
        body = (self.server.folder / f"{name}.{fmt}").read_bytes()
        self._send(200, body, {"Content-Type": f"audio/{fmt}",
                               "Content-Disposition": f'attachment; filename="{name}.{fmt}"'})

    def _authorised(self) -> bool:
        given = self.headers.get("Authorization", "")
        wanted = base64.b64encode(f"{ARI_USER}:{ARI_PASSWORD}".encode()).decode()
        return given == f"Basic {wanted}"

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(body).encode(),
                   {"Content-Type": "application/json", **(headers or {})})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class AriServer(http.server.ThreadingHTTPServer):
    """Stored recordings are the files under ``folder``: name = path less the extension."""

    def __init__(self, folder: Path) -> None:
        super().__init__(("127.0.0.1", 0), AriHandler)
        self.folder = folder
        self.seen: list[tuple[str, bool]] = []
        self.errors: list[BaseException] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stored(self) -> list[tuple[str, str]]:
        files = sorted(p for p in self.folder.rglob("*") if p.is_file())
        return [(p.relative_to(self.folder).as_posix()[: -len(p.suffix)], p.suffix[1:]) for p in files]


@pytest.fixture
def ari(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AriServer]:
    monkeypatch.setenv(ARI_ENV, ARI_PASSWORD)
    monkeypatch.setenv(AMI_ENV, AMI_SECRET)
    (tmp_path / "spool").mkdir()
    server = AriServer(tmp_path / "spool")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    if server.errors:
        raise server.errors[0]


# -- AMI: transcripts ----------------------------------------------------------------------
# WRITTEN FROM THE DOCUMENTATION, NOT CAPTURED FROM A LIVE ASTERISK.  They follow the
# AMI protocol as docs.asterisk.org describes it: a one-line greeting, then "Key: Value"
# messages ended by an empty line; Login answered "Response: Success" or "Response:
# Error / Message: Authentication failed" (after which Asterisk hangs up); QueueStatus
# answered "EventList: start", then QueueParams, QueueMember and QueueEntry events and
# QueueStatusComplete; QueueSummary likewise; Logoff answered "Response: Goodbye".
# QueueMember's fields are those app_queue writes for QueueStatus (Name, Location,
# StateInterface, ... -- the QueueMember* events call them MemberName and Interface).
# The version in the greeting is illustrative.  They stay for what the capture has not:
# a paused member, a Local/ member with a StateInterface, a silent server; the bytes a
# real Asterisk 22.10.1 sent are replayed in test_asterisk_wire.py.  "{id}" stands for
# the action's ActionID.
GREETING = "Asterisk Call Manager/11.0.0"
TRANSCRIPTS = {
    "login": """\
Response: Success
ActionID: {id}
Message: Authentication accepted

Event: FullyBooted
Privilege: system,all
Uptime: 3600
LastReload: 3600
Status: Fully Booted
""",
    "login_failed": """\
Response: Error
ActionID: {id}
Message: Authentication failed
""",
    "queuestatus": """\
Response: Success
ActionID: {id}
EventList: start
Message: Queue status will follow

Event: QueueParams
Queue: sales
Max: 0
Strategy: fewestcalls
Calls: 1
Holdtime: 4
TalkTime: 38
Completed: 4
Abandoned: 0
ServiceLevel: 60
ServicelevelPerf: 100.0
ServicelevelPerf2: 100.0
Weight: 0
ActionID: {id}

Event: QueueMember
Queue: sales
Name: Agent 2001
Location: PJSIP/2001
StateInterface: PJSIP/2001
Membership: static
Penalty: 0
CallsTaken: 3
LastCall: 1764280000
LastPause: 0
LoginTime: 1764270000
InCall: 0
Status: 1
Paused: 0
PausedReason:
Wrapuptime: 0
ActionID: {id}

Event: QueueMember
Queue: sales
Name: Agent 2002
Location: Local/2002@agents/n
StateInterface: PJSIP/2002
Membership: dynamic
Penalty: 0
CallsTaken: 1
LastCall: 1764280100
LastPause: 0
LoginTime: 1764270000
InCall: 1
Status: 2
Paused: 0
PausedReason:
Wrapuptime: 0
ActionID: {id}

Event: QueueMember
Queue: sales
Name: PJSIP/2003
Location: PJSIP/2003
StateInterface: PJSIP/2003
Membership: static
Penalty: 0
CallsTaken: 0
LastCall: 0
LastPause: 0
LoginTime: 0
InCall: 0
Status: 5
Paused: 1
PausedReason: lunch
Wrapuptime: 0
ActionID: {id}

Event: QueueEntry
Queue: sales
Position: 1
Channel: PJSIP/1001-00000012
Uniqueid: 1764280200.42
CallerIDNum: 1001
CallerIDName: caller
ConnectedLineNum: <unknown>
ConnectedLineName: <unknown>
Wait: 4
Priority: 0
ActionID: {id}

Event: QueueParams
Queue: support
Max: 0
Strategy: rrmemory
Calls: 0
Holdtime: 0
TalkTime: 0
Completed: 2
Abandoned: 1
ServiceLevel: 0
ServicelevelPerf: 0.0
ServicelevelPerf2: 0.0
Weight: 0
ActionID: {id}

Event: QueueMember
Queue: support
Name: Agent 2001
Location: PJSIP/2001
StateInterface: PJSIP/2001
Membership: static
Penalty: 0
CallsTaken: 2
LastCall: 1764280050
LastPause: 0
LoginTime: 1764270000
InCall: 0
Status: 1
Paused: 0
PausedReason:
Wrapuptime: 0
ActionID: {id}

Event: QueueStatusComplete
ActionID: {id}
EventList: Complete
ListItems: 7
""",
    "queuesummary": """\
Response: Success
ActionID: {id}
EventList: start
Message: Queue summary will follow

Event: QueueSummary
Queue: sales
LoggedIn: 2
Available: 1
Callers: 1
HoldTime: 4
TalkTime: 38
LongestHoldTime: 4
ActionID: {id}

Event: QueueSummary
Queue: support
LoggedIn: 1
Available: 1
Callers: 0
HoldTime: 0
TalkTime: 0
LongestHoldTime: 0
ActionID: {id}

Event: QueueSummaryComplete
ActionID: {id}
EventList: Complete
ListItems: 2
""",
    "logoff": """\
Response: Goodbye
ActionID: {id}
Message: Thanks for all the fish.
""",
    "unknown": """\
Response: Error
ActionID: {id}
Message: Invalid/unknown command
""",
}
"""Each transcript is the server's side of one action: messages separated by an empty line."""


def messages(script: str) -> list[str]:
    return [m.strip("\n") for m in script.split("\n\n") if m.strip()]


class AmiServer:
    """Answers AMI actions from ``TRANSCRIPTS``; ``silent_after`` stops QueueStatus mid-list."""

    def __init__(self, silent_after: int | None = None) -> None:
        self.silent_after = silent_after
        self.actions: list[dict[str, str]] = []
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def close(self) -> None:
        self.stop.set()
        socket.create_connection(("127.0.0.1", self.port)).close()  # wakes accept()
        for thread in self.threads:
            thread.join(5)
        self.listener.close()

    def _accept(self) -> None:
        while not self.stop.is_set():
            conn, _ = self.listener.accept()
            if self.stop.is_set():
                conn.close()
                return
            thread = threading.Thread(target=self._session, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _session(self, conn: socket.socket) -> None:
        try:
            with conn:
                conn.sendall(f"{GREETING}\r\n".encode())
                self._converse(conn)
        except Exception as exc:  # noqa: BLE001 -- kept for the test thread
            self.errors.append(exc)

    def _converse(self, conn: socket.socket) -> None:
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                buf += chunk
            raw, buf = buf.split(b"\r\n\r\n", 1)
            action = parse_message(raw.decode())
            self.actions.append(action)
            if not self._answer(conn, action):
                return

    def _answer(self, conn: socket.socket, action: dict[str, str]) -> bool:
        name, action_id = action.get("Action", "").lower(), action.get("ActionID", "")
        if name == "login":
            ok = action.get("Username") == AMI_USER and action.get("Secret") == AMI_SECRET
            self._say(conn, TRANSCRIPTS["login" if ok else "login_failed"], action_id)
            return ok
        script = TRANSCRIPTS.get(name, TRANSCRIPTS["unknown"])
        if name == "queuestatus" and self.silent_after is not None:
            self._say(conn, messages(script)[: self.silent_after], action_id)
            self.stop.wait(10)  # holds the line open and says nothing more
            return False
        self._say(conn, script, action_id)
        return name != "logoff"

    @staticmethod
    def _say(conn: socket.socket, script: str | list[str], action_id: str) -> None:
        """Each message of ``script`` with the action's ActionID, lines ended by CR LF."""
        for message in messages(script) if isinstance(script, str) else script:
            conn.sendall((message.format(id=action_id).replace("\n", "\r\n") + "\r\n\r\n").encode())


@pytest.fixture
def ami(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv(AMI_ENV, AMI_SECRET)
    servers: list[AmiServer] = []

    def start(silent_after: int | None = None) -> AmiServer:
        servers.append(AmiServer(silent_after))
        return servers[-1]

    yield start
    for server in servers:
        server.close()
    for server in servers:
        if server.errors:
            raise server.errors[0]


# -- the adapter ----------------------------------------------------------------------------
def test_the_adapter_is_chosen_by_type_and_hides_its_secrets(ari: AriServer) -> None:
    platform = adapter_for(target(ari.url + "/ari", ami_port=5038))
    assert isinstance(platform, AsteriskPlatform) and isinstance(platform, Platform)
    assert platform.url == ari.url  # a url written with /ari is the same server
    text = repr(platform)
    assert ARI_PASSWORD not in text and AMI_SECRET not in text
    assert f"${{ENV:{ARI_ENV}}}" in text and f"${{ENV:{AMI_ENV}}}" in text


def test_a_template_with_the_call_id_finds_the_calls_recording(ari: AriServer, tmp_path: Path) -> None:
    served = recording(ari.folder / f"rec-{CALL}.wav", CALL)
    recording(ari.folder / "rec-another-call-id.wav")
    recording(ari.folder / "2026/11/rec-a1b2c3@10.0.0.1.wav")  # FILTER() kept of "a1b2;c3@10.0.0.1"
    platform = adapter_for(target(ari.url, recording_name="rec-{call_id}.wav"))
    found = platform.find_recordings(CALL, *WINDOW)
    assert [(r.name, r.call_id, r.format) for r in found] == [(f"rec-{CALL}", CALL, "wav")]
    path = platform.fetch(found[0], tmp_path)
    assert path.read_bytes() == served.read_bytes()
    filtered = platform.find_recordings("a1b2;c3@10.0.0.1", *WINDOW)
    assert [r.name for r in filtered] == ["2026/11/rec-a1b2c3@10.0.0.1"]
    assert platform.fetch(filtered[0], tmp_path) == tmp_path / "2026/11/rec-a1b2c3@10.0.0.1.wav"
    assert platform.get_recording(f"rec-{CALL}") == found[0]
    assert platform.fetch_unauthenticated(found[0]) == 401
    assert (f"/ari/recordings/stored/rec-{CALL}/file", False) in ari.seen


def test_a_missing_recording_is_none_or_nothing_found(ari: AriServer, tmp_path: Path) -> None:
    recording(ari.folder / "rec-another-call-id.wav")
    platform = adapter_for(target(ari.url, recording_name="rec-{call_id}"))
    assert platform.find_recordings(CALL, *WINDOW) == []  # the step asks again until `within`
    assert platform.get_recording(f"rec-{CALL}") is None
    gone = platform.get_recording("rec-another-call-id")
    assert gone is not None
    (ari.folder / "rec-another-call-id.wav").unlink()
    with pytest.raises(TargetError, match=r"GET /ari/recordings/stored/rec-another-call-id/file "
                                          r"answered 404 Not Found: Recording not found"):
        platform.fetch(gone, tmp_path)


def test_without_a_call_id_in_names_the_window_candidates_come_untied(ari: AriServer) -> None:
    for when, caller in ((NOW - timedelta(minutes=2), "1001"), (NOW - timedelta(hours=3), "1002")):
        recording(ari.folder / f"{caller}-{uniqueid(when)}.wav")
    recording(ari.folder / "greeting-custom.wav")  # no time in the name
    by_uniqueid = adapter_for(target(ari.url, recording_name="{caller}-{uniqueid}"))
    found = by_uniqueid.find_recordings(CALL, *WINDOW)
    assert [(r.name, r.call_id) for r in found] == [(f"1001-{uniqueid(NOW - timedelta(minutes=2))}",
                                                     None)]
    assert found[0].started_utc == datetime.fromtimestamp(int((NOW - timedelta(minutes=2))
                                                              .timestamp()), UTC)
    untemplated = adapter_for(target(ari.url)).find_recordings(CALL, *WINDOW)
    assert [r.name for r in untemplated] == ["greeting-custom", found[0].name]  # untimed first
    assert {r.call_id for r in untemplated} == {None}
    recording(ari.folder / f"x-{CALL}-y.wav", CALL)  # no template, but the name holds the Call-ID
    assert [r.call_id for r in adapter_for(target(ari.url)).find_recordings(CALL, *WINDOW)] == [CALL]


def test_the_calls_identities_narrow_names_that_carry_them(ari: AriServer) -> None:
    """{caller}, {did} and {header:X-...} match the call's own values when the step knows them."""
    when = uniqueid(NOW - timedelta(minutes=1))
    for caller, queue in (("1001", "sales"), ("1002", "sales"), ("1001", "support")):
        recording(ari.folder / f"{queue}-{caller}-{when}.wav")
    platform = adapter_for(target(ari.url, recording_name="{header:X-Queue}-{caller}-{uniqueid}"))
    assert len(platform.find_recordings(CALL, *WINDOW)) == 3  # told nothing: any caller, any queue
    mine = platform.find_recordings(CALL, *WINDOW, {"caller": "1001", "header:X-Queue": "sales"})
    assert [r.name for r in mine] == [f"sales-1001-{when}"]
    assert platform.find_recordings(None, *WINDOW, {"caller": "1003"}) == []


def test_times_written_by_strftime_are_read_in_the_profiles_zone(ari: AriServer) -> None:
    local = (NOW - timedelta(minutes=1)).astimezone(ZoneInfo("Asia/Shanghai"))
    recording(ari.folder / f"1001-{local:%Y%m%d-%H%M%S}.wav")
    template = "{caller}-{start:%Y%m%d-%H%M%S}"
    shanghai = adapter_for(target(ari.url, recording_name=template,
                                  recording_timezone="Asia/Shanghai"))
    assert len(shanghai.find_recordings(None, *WINDOW)) == 1
    assert adapter_for(target(ari.url, recording_name=template)).find_recordings(None, *WINDOW) == []


def test_wrong_ari_password_names_the_url_and_401_and_no_secret(ari: AriServer,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ARI_ENV, "not-the-password")
    with pytest.raises(TargetError) as caught:
        adapter_for(target(ari.url)).find_recordings(CALL, *WINDOW)
    text = str(caught.value)
    assert f"Asterisk ARI at {ari.url}" in text and "401" in text
    assert "GET /ari/recordings/stored" in text and ARI_ENV in text
    assert "not-the-password" not in text and ARI_PASSWORD not in text


def test_nothing_listening_names_the_url_and_ari_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ARI_ENV, ARI_PASSWORD)
    url = f"http://127.0.0.1:{free_tcp_port()}"
    with pytest.raises(TargetError, match=rf"cannot connect to {url}/ari/recordings/stored/rec-x: "
                                          r"connection refused .*ari.conf enabled = yes"):
        adapter_for(target(url)).get_recording("rec-x")


def test_retention_is_the_profiles_word_and_clock_and_purge_not_supported(ari: AriServer) -> None:
    from harness.steps.recorded import declared_days

    profile = target(ari.url, retention_days=190)
    platform = adapter_for(profile)
    assert platform.retention_days() is None  # Asterisk cannot say: the step takes the profile's
    run = cast(Any, SimpleNamespace(target=profile))
    assert declared_days(run, platform) == (190, "adapter.retention_days in /profiles/asterisk.yaml")
    with pytest.raises(TargetError, match=r"declares no adapter\.retention_days"):
        declared_days(cast(Any, SimpleNamespace(target=target(ari.url))), platform)
    with pytest.raises(NotSupported, match="cannot move its clock"):
        platform.set_clock_offset(191)
    with pytest.raises(NotSupported, match="no retention policy of its own"):
        platform.purge()
    assert platform.queue_state() is None  # no ami: in the profile


# -- the recording step with this adapter ------------------------------------------------------
def locate(platform: Platform, folder: Path, within: float = 30.0) -> tuple[str, str]:
    from harness.steps.recorded import PlayedMarker, locate

    wall = NOW.timestamp()  # the clock the test dated its recordings from, not the import's
    run = step_run()
    state = SimpleNamespace(
        timeline=SimpleNamespace(sip_call_id=CALL, events=[SimpleNamespace(wall=wall - 30)]),
        agent_leg=None, identities={},
        markers={"caller": PlayedMarker(marker_for(CALL, "caller"), 0.0, wall - 20)})
    step = SimpleNamespace(within=within, call="c1")
    rec, how = locate(cast(Any, run), platform, cast(Any, state), cast(Any, step), folder)
    return rec.name, how


def test_the_step_proves_a_window_candidate_by_the_calls_marker(ari: AriServer, tmp_path: Path) -> None:
    names = [f"1001-{uniqueid(NOW - timedelta(seconds=s), s)}" for s in (50, 40, 30)]
    recording(ari.folder / f"{names[0]}.wav", "earlier-call")
    recording(ari.folder / f"{names[1]}.wav", CALL)
    recording(ari.folder / f"{names[2]}.wav", "later-call")
    platform = adapter_for(target(ari.url, recording_name="{caller}-{uniqueid}"))
    assert locate(platform, tmp_path) == (names[1], "time window and marker")  # without waiting
    (ari.folder / f"{names[1]}.wav").unlink()
    with pytest.raises(ExpectationFailed, match=r"scanned 2 recording\(s\) \(1001-"):
        locate(platform, tmp_path, within=1.0)  # it looks until the deadline


def test_the_step_takes_a_name_holding_the_call_id_at_its_word(ari: AriServer, tmp_path: Path) -> None:
    recording(ari.folder / f"rec-{CALL}.wav", CALL)
    platform = adapter_for(target(ari.url, recording_name="rec-{call_id}"))
    assert locate(platform, tmp_path) == (f"rec-{CALL}", "SIP Call-ID")


# -- AMI ----------------------------------------------------------------------------------
def test_queue_state_maps_members_to_sip_usernames(ari: AriServer, ami: Any) -> None:
    server = ami()
    state = adapter_for(target(ari.url, ami_port=server.port, timeout=5)).queue_state()
    assert state is not None
    agents, queues = state["agents"], state["queues"]
    assert {a: agents[a]["calls_taken"] for a in agents} == {"2001": 5, "2002": 1, "2003": 0}
    assert agents["2001"]["last_call"] == 1764280050.0 and agents["2003"]["last_call"] is None
    assert (agents["2001"]["registered"], agents["2001"]["busy"]) == (True, False)
    assert (agents["2002"]["registered"], agents["2002"]["busy"]) == (True, True)
    assert (agents["2003"]["registered"], agents["2003"]["paused"]) == (False, True)
    assert agents["2001"]["queues"] == ["sales", "support"]
    assert queues["sales"]["strategy"] == "fewestcalls" and queues["support"]["strategy"] == "rrmemory"
    assert queues["sales"]["agents"] == ["2001", "2002", "2003"]
    assert queues["sales"]["members"]["2001"]["calls_taken"] == 3
    assert queues["sales"]["waiting"] == [{"position": 1, "waited": 4, "channel": "PJSIP/1001-00000012",
                                           "caller": "1001", "uniqueid": "1764280200.42"}]
    assert (queues["sales"]["logged_in"], queues["sales"]["available"]) == (2, 1)
    assert [a["Action"] for a in server.actions] == ["Login", "QueueStatus", "QueueSummary", "Logoff"]
    assert server.actions[0]["Events"] == "off"


def test_agent_usernames_from_interfaces() -> None:
    assert agent_username({"Location": "PJSIP/2001"}) == "2001"
    assert agent_username({"Interface": "PJSIP/2001/sip:2001@10.0.0.5:5060"}) == "2001"
    assert agent_username({"Location": "Local/2002@agents/n", "StateInterface": "PJSIP/2002"}) == "2002"
    assert agent_username({"Location": "Local/2004@agents/n", "StateInterface": "Custom:x"}) == "2004"
    assert agent_username({"StateInterface": "hint:2005@default"}) == "2005"
    assert agent_username({"Name": "Agent Smith"}) == "Agent Smith"


def test_ami_login_refused_names_the_user_not_the_secret(ari: AriServer, ami: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    server = ami()
    monkeypatch.setenv(AMI_ENV, "wrong-secret")
    with pytest.raises(TargetError) as caught:
        adapter_for(target(ari.url, ami_port=server.port, timeout=5)).queue_state()
    text = str(caught.value)
    assert f"AMI at 127.0.0.1:{server.port} refused the login of user 'harness': " \
           f"Authentication failed" in text
    assert AMI_ENV in text and "manager.conf" in text and "/profiles/asterisk.yaml" in text
    assert "wrong-secret" not in text and AMI_SECRET not in text


def test_an_ami_that_goes_silent_mid_list_hits_the_deadline(ari: AriServer, ami: Any) -> None:
    server = ami(silent_after=3)
    with pytest.raises(TargetError) as caught:
        adapter_for(target(ari.url, ami_port=server.port, timeout=0.5)).queue_state()
    assert str(caught.value).startswith(
        f"AMI at 127.0.0.1:{server.port} went silent: waited 0.5s for the rest of the QueueStatus "
        f"event list (up to QueueStatusComplete); got 2 message(s) so far: QueueParams, QueueMember")


def test_a_port_that_is_not_ami_is_named(ari: AriServer) -> None:
    port = int(ari.url.rsplit(":", 1)[1])  # an HTTP server says nothing first
    with pytest.raises(TargetError, match=r"went silent: waited 0.5s for the AMI greeting"):
        adapter_for(target(ari.url, ami_port=port, timeout=0.5)).queue_state()


# -- names and profiles ---------------------------------------------------------------------
def test_name_templates_read_back_and_refuse_what_they_cannot() -> None:
    stamp = NameTemplate("q-{start:%Y%m%d}-{call_id}")
    read = stamp.read(f"q-20261127-{CALL}", CALL)
    assert read is not None and read.matched and read.call_id == CALL
    day = datetime(2026, 11, 27, tzinfo=UTC)
    assert read.in_window(day + timedelta(hours=20), day + timedelta(hours=21))  # a day's grain
    assert stamp.read(f"q-20261327-{CALL}") is None  # month 13
    assert NameTemplate("{start}").read(str(int(day.timestamp()))) is not None
    assert AnyName().read(f"sales-{day:%Y%m%d-%H%M%S}").started_utc == day
    for bad, says in (("rec-{callid}", "not a placeholder"), ("{call_id:%Y}", "only {start} takes a format"),
                      ("{start:%Y%}", "lone %"), ("{start:day}", "writes no time"),
                      ("fixed-name", "no placeholder"),
                      ("rec-{call_id", "lone brace")):
        with pytest.raises(ValueError, match=says.replace("{", r"\{")):
            NameTemplate(bad)


def test_the_example_profile_loads_and_builds_the_adapter() -> None:
    platform = adapter_for(load_target(EXAMPLE))
    assert isinstance(platform, AsteriskPlatform)
    assert platform.ami is not None and (platform.ami.host, platform.ami.port) == ("pbx.example.com", 5038)
    assert platform.retention_days() is None and platform.names.carries_call_id


def test_a_bad_asterisk_adapter_section_is_reported_at_load(tmp_path: Path) -> None:
    profile = tmp_path / "bad.yaml"
    profile.write_text("name: bad\nplatform: {host: 127.0.0.1}\nadapter:\n  type: asterisk\n"
                       "  url: http://127.0.0.1:8088\n  username: harness\n"
                       "  recording_name: rec-{callid}\n"
                       "  ami: {username: harness, secret: hunter2}\n", encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_target(profile)
    text = str(caught.value)
    assert "adapter: missing required field 'password'" in text
    assert "adapter.recording_name: a recording name uses the placeholders" in text
    assert "adapter.ami.secret: a literal secret is not allowed" in text and "hunter2" not in text
