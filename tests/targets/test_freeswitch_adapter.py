"""The FreeSWITCH adapter: its event-socket client against a fake server on 127.0.0.1,
mod_callcenter's listings mapped to SIP users, and recordings through a nested source.

The server (a thread; every wait has a deadline; failures are kept and re-raised
by the fixture) replays ``TRANSCRIPTS``.  No FreeSWITCH is installed here.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from harness.errors import ExpectationFailed, ProfileError, TargetError
from harness.targets.adapter import NotSupported, Platform
from harness.targets.callcenter import ListingError, parse_listing, user_from_contact
from harness.targets.directory import DirectoryPlatform
from harness.targets.esl import EslSession
from harness.targets.freeswitch import FreeswitchPlatform
from harness.targets.model import Secret, Target
from harness.targets.profile import load_target
from harness.targets.registry import adapter_for
from tests.ports import free_tcp_port
from tests.targets.recording_check import check_found, recording, retention_source

PASSWORD, ENV = "Esl-t3st-pw", "CC_TEST_FS_ESL_PASSWORD"
CALL = "kZ1OhsT50pM8b0G7QaFAJzepOzIH5gOR"
NOW = datetime.now(UTC)
WINDOW = (NOW - timedelta(minutes=10), NOW + timedelta(minutes=10))
EXAMPLE = Path(__file__).parents[2] / "fixtures" / "targets" / "freeswitch.example.yaml"
PROFILE = Path("/profiles/freeswitch.yaml")

# -- transcripts ------------------------------------------------------------------------------
# WRITTEN FROM THE DOCUMENTATION, NOT CAPTURED FROM A LIVE FREESWITCH.  The framing follows
# mod_event_socket.c: the greeting "Content-Type: auth/request" and an empty line; "auth"
# answered by a command/reply with "Reply-Text: +OK accepted" or "-ERR invalid" (then a
# text/disconnect-notice and the hang-up); "api" by "Content-Type: api/response" and
# "Content-Length: <bytes>", an empty line and the body ("-ERR <cmd> Command not found!" when
# no module provides the command); "exit" by "+OK bye"; a host outside apply-inbound-acl by
# a text/rude-rejection "Access Denied, go away.".  The bodies follow mod_callcenter.c's
# list_result_callback (a header row of column names, "|"-separated rows, then "+OK"; no
# header when there are no rows) with the columns of FreeSWITCH 1.10's agents, tiers and
# members tables and of its "queue list"; the values are made up.  Replace them with a
# capture from a real FreeSWITCH 1.10 when one is at hand.
GREETING = "Content-Type: auth/request\n\n"
AUTH_OK = "Content-Type: command/reply\nReply-Text: +OK accepted\n\n"
AUTH_BAD = "Content-Type: command/reply\nReply-Text: -ERR invalid\n\n"
BYE = "Content-Type: command/reply\nReply-Text: +OK bye\n\n"
GOODBYE = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
DISCONNECT = f"Content-Type: text/disconnect-notice\nContent-Length: {len(GOODBYE)}\n\n{GOODBYE}"
RUDE = "Content-Type: text/rude-rejection\nContent-Length: 24\n\nAccess Denied, go away.\n"
QUEUE_COLUMNS = ("name|strategy|moh_sound|time_base_score|tier_rules_apply|tier_rule_wait_second|"
                 "tier_rule_wait_multiply_level|tier_rule_no_agent_no_wait|discard_abandoned_after|"
                 "abandoned_resume_allowed|max_wait_time|max_wait_time_with_no_agent|"
                 "max_wait_time_with_no_agent_time_reached|record_template|calls_answered|"
                 "calls_abandoned|ring_progressively_delay|skip_agents_with_external_calls|"
                 "agent_no_answer_status")
AGENT_COLUMNS = ("name|instance_id|uuid|type|contact|status|state|max_no_answer|wrap_up_time|"
                 "reject_delay_time|busy_delay_time|no_answer_delay_time|last_bridge_start|"
                 "last_bridge_end|last_offered_call|last_status_change|no_answer_count|"
                 "calls_answered|talk_time|ready_time|external_calls_count")
MEMBER_COLUMNS = ("queue|instance_id|uuid|session_uuid|cid_number|cid_name|system_epoch|"
                  "joined_epoch|rejoined_epoch|bridge_epoch|abandoned_epoch|base_score|"
                  "skill_score|serving_agent|serving_system|state|score")
TRANSCRIPTS = {
    "status": """\
UP 0 years, 0 days, 2 hours, 11 minutes, 5 seconds, 120 milliseconds, 3 microseconds
FreeSWITCH (Version 1.10.12-release 64bit) is ready
4 session(s) since startup
1 session(s) - peak 2, last 5min 2
0 session(s) per Sec out of max 30, peak 1, last 5min 1
1000 session(s) max
min idle cpu 0.00/98.50
Current Stack Size/Max 240K/8192K
""",
    "callcenter_config queue list": f"""\
{QUEUE_COLUMNS}
sales@default|agent-with-fewest-calls|local_stream://moh|queue|false|0|false|true|60|false|0|0|5|\
/var/lib/freeswitch/recordings/cc-${{sip_call_id}}.wav|6|1|0|true|On Break
support@default|round-robin|local_stream://moh|queue|false|0|false|true|60|false|0|0|5||2|0|0|\
true|On Break
+OK
""",
    "callcenter_config agent list": f"""\
{AGENT_COLUMNS}
2001@default|single_box||callback|[call_timeout=20]user/2001|Available|Waiting|3|5|10|10|0|\
1764280000|1764280050|1764280000|1764270000|0|5|310|0|0
2002@default|single_box|6f0a9d8e-4c1b-4f43-9a57-1e2d3c4b5a69|callback|\
{{ignore_early_media=true}}sofia/internal/2002@10.0.0.12:5060|Available|In a queue call|3|5|10|\
10|0|1764280100|1764280040|1764280099|1764270000|0|1|40|0|0
agent-wei|single_box||callback|sofia/gateway/pstn/13800138000|On Break|Idle|3|5|10|10|0|0|0|0|\
1764270000|0|0|0|0|0
2004@default|single_box||callback|${{sofia_contact(2004@default)}}|Logged Out|Waiting|3|5|10|10|\
0|1764279000|1764279030|1764279000|1764279500|0|2|60|0|0
+OK
""",
    "callcenter_config tier list": """\
queue|agent|state|level|position
sales@default|2001@default|Ready|1|1
sales@default|2002@default|Active Inbound|1|2
sales@default|agent-wei|Ready|2|1
support@default|2001@default|Ready|1|1
+OK
""",
    "callcenter_config queue list members sales@default": f"""\
{MEMBER_COLUMNS}
sales@default|single_box|0b1e6c7a-2f5d-4e8b-9c3a-5d6e7f8a9b0c|2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d|\
1001|caller|1764280200|1764280201|0|0|0|0|0|||Waiting|4
sales@default|single_box|1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f|3b4c5d6e-7f8a-4b9c-0d1e-2f3a4b5c6d7e|\
1005|caller|1764280150|1764280151|0|1764280160|0|0|0|2002@default|single_box|Answered|0
sales@default|single_box|2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a|4c5d6e7f-8a9b-4c0d-1e2f-3a4b5c6d7e8f|\
1003|caller|1764280190|1764280190|0|0|0|0|0|2001@default|single_box|Trying|10
+OK
""",
    "callcenter_config queue list members support@default": "+OK\n",
}
"""The body of each ``api`` command's answer; anything else is "Command not found"."""


def framed(body: str) -> str:
    return f"Content-Type: api/response\nContent-Length: {len(body.encode())}\n\n{body}"


class EslServer:
    """Answers event-socket commands from ``TRANSCRIPTS``; ``replies`` overrides an api answer
    with raw text (or None: say nothing and hold the line), ``greeting`` the first message."""

    def __init__(self, greeting: str | None = GREETING, replies: dict[str, str | None] | None = None,
                 chunk: int = 0, refusal: str = AUTH_BAD) -> None:
        self.greeting, self.replies, self.chunk = greeting, replies or {}, chunk
        self.refusal = refusal  # what a wrong password is told
        self.commands: list[str] = []
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)  # the accept loop looks at stop this often
        self.port = int(self.listener.getsockname()[1])
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(5)
        self.listener.close()
        assert not any(t.is_alive() for t in self.threads), "a fake ESL session did not end"

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._session, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _session(self, conn: socket.socket) -> None:
        try:
            with conn:
                conn.settimeout(5)  # no client of these tests waits longer
                if self.greeting is None:
                    self.stop.wait(5)  # accepts, and never speaks
                    return
                self._say(conn, self.greeting)
                if self.greeting == GREETING:
                    self._converse(conn)
        except Exception as exc:  # noqa: BLE001 -- kept for the test thread
            self.errors.append(exc)

    def _converse(self, conn: socket.socket) -> None:
        buf = b""
        while not self.stop.is_set():
            while b"\n\n" not in buf:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                buf += chunk
            raw, buf = buf.split(b"\n\n", 1)
            self.commands.append(raw.decode())
            if not self._answer(conn, raw.decode()):
                return

    def _answer(self, conn: socket.socket, command: str) -> bool:
        verb, _, rest = command.partition(" ")
        if verb == "auth":
            self._say(conn, AUTH_OK if rest == PASSWORD else self.refusal + DISCONNECT)
            return rest == PASSWORD
        if verb == "exit":
            self._say(conn, BYE + DISCONNECT)
            return False
        if verb == "bgapi":  # the job runs in the background: the reply names it at once
            self._say(conn, (Path(__file__).parents[1] / "data" / "freeswitch" / "bgapi-accepted.esl").read_text())
            return True
        if verb != "api":
            self._say(conn, "Content-Type: command/reply\nReply-Text: -ERR command not found\n\n")
            return True
        if rest in self.replies:
            reply = self.replies[rest]
            if reply is None:
                self.stop.wait(5)  # holds the line open and says nothing more
                return False
            self._say(conn, reply)
            return True
        body = TRANSCRIPTS.get(rest, f"-ERR {rest.split(' ')[0]} Command not found!\n")
        self._say(conn, framed(body))
        return True

    def _say(self, conn: socket.socket, text: str) -> None:
        data = text.encode()
        step = self.chunk or len(data) or 1
        for at in range(0, len(data), step):  # in small pieces when asked: reads must gather
            conn.sendall(data[at:at + step])


@pytest.fixture
def esl(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv(ENV, PASSWORD)
    servers: list[EslServer] = []

    def start(**options: Any) -> EslServer:
        servers.append(EslServer(**options))
        return servers[-1]

    yield start
    for server in servers:
        server.close()
    for server in servers:
        if server.errors:
            raise server.errors[0]


def target(port: int = 8021, recordings: dict[str, Any] | None = None, **extra: Any) -> Target:
    adapter: dict[str, Any] = {
        "type": "freeswitch",
        "esl": {"host": "127.0.0.1", "port": port, "password": Secret(ENV)},
        "recordings": recordings if recordings is not None else
        {"type": "directory", "folder": "/var/lib/freeswitch/recordings"},
        "timeout": 2, **extra}
    return Target(name="t", path=PROFILE, host="127.0.0.1", port=5060, transport="udp",
                  domain="127.0.0.1", outbound_proxy=None, managed="none", dids={}, accounts={},
                  prompts=None, adapter=adapter)


def session(port: int, timeout: float = 2.0) -> EslSession:
    return EslSession("127.0.0.1", port, Secret(ENV), timeout, PROFILE)


# -- the event socket -------------------------------------------------------------------------
def test_the_adapter_is_chosen_by_type_and_hides_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, PASSWORD)
    platform = adapter_for(target())
    assert isinstance(platform, FreeswitchPlatform) and isinstance(platform, Platform)
    assert isinstance(platform.recordings, DirectoryPlatform)
    assert platform.description == ("FreeSWITCH at 127.0.0.1:8021 (event socket), recordings from "
                                    "recording folder /var/lib/freeswitch/recordings")
    assert PASSWORD not in repr(platform) and f"${{ENV:{ENV}}}" in repr(platform)


def test_auth_then_api_reads_the_body_by_its_length_and_says_exit(esl: Any) -> None:
    server = esl(chunk=5)  # the answer comes in pieces
    with session(server.port) as fs:
        assert fs.api("status") == TRANSCRIPTS["status"]
    assert server.commands == [f"auth {PASSWORD}", "api status", "exit"]


def test_a_wrong_password_is_refused_naming_the_socket_never_the_password(
        esl: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server = esl()
    monkeypatch.setenv(ENV, "not-the-password")
    with pytest.raises(TargetError) as caught:
        adapter_for(target(server.port)).queue_state()
    text = str(caught.value)
    assert text.startswith(f"FreeSWITCH event socket at 127.0.0.1:{server.port} refused the "
                           f"password ('-ERR invalid')")
    assert ENV in text and "event_socket.conf.xml" in text and str(PROFILE) in text
    assert "not-the-password" not in text and PASSWORD not in text and "\n" not in text
    assert server.commands == ["auth not-the-password"]  # and nothing after


def test_a_server_that_echoes_the_password_back_has_it_blanked(
        esl: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server = esl(refusal="Content-Type: command/reply\nReply-Text: -ERR invalid password "
                         "Old-pw-2024\n\n")
    monkeypatch.setenv(ENV, "Old-pw-2024")
    with pytest.raises(TargetError) as caught:
        session(server.port).__enter__()
    assert "refused the password ('-ERR invalid password ***')" in str(caught.value)
    assert "Old-pw-2024" not in str(caught.value)


def test_nothing_listening_names_host_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, PASSWORD)
    port = free_tcp_port()
    with pytest.raises(TargetError) as caught:
        adapter_for(target(port)).queue_state()
    text = str(caught.value)
    assert text.startswith(f"cannot connect to FreeSWITCH event socket at 127.0.0.1:{port}: "
                           f"connection refused (hint: is mod_event_socket loaded")
    assert "adapter.esl" in text and PASSWORD not in text


def test_a_connect_that_never_completes_times_out_naming_host_and_port(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, PASSWORD)
    with socket.socket() as full:  # a backlog that is full: Linux drops the next SYN
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        port = int(full.getsockname()[1])
        fillers: list[socket.socket] = []
        while not fillers or fillers[-1].connect_ex(("127.0.0.1", port)) == 0:
            assert len(fillers) < 8, "the listener's backlog never filled"  # until one waits
            fillers.append(socket.socket())
            fillers[-1].settimeout(0.3)
        try:
            with pytest.raises(TargetError) as caught:
                session(port, timeout=0.3).__enter__()
        finally:
            for filler in fillers:
                filler.close()
    assert str(caught.value).startswith(
        f"connecting to FreeSWITCH event socket at 127.0.0.1:{port} timed out after 0.3s")


def test_a_server_that_never_greets_hits_the_deadline(esl: Any) -> None:
    server = esl(greeting=None)
    with pytest.raises(TargetError) as caught:
        session(server.port, timeout=0.3).__enter__()
    assert str(caught.value).startswith(
        f"FreeSWITCH event socket at 127.0.0.1:{server.port} went silent: waited 0.3s for the "
        f"greeting (auth/request); nothing more had arrived")


def test_a_host_outside_the_acl_is_told_how_to_get_in(esl: Any) -> None:
    server = esl(greeting=RUDE)
    with pytest.raises(TargetError) as caught:
        session(server.port).__enter__()
    text = str(caught.value)
    assert f"at 127.0.0.1:{server.port} turned this host away by its ACL: 'Access Denied, go " \
           f"away.'" in text and "apply-inbound-acl" in text
    assert server.commands == []  # no password was sent to it


def test_a_port_that_is_not_the_event_socket_is_named(esl: Any) -> None:
    server = esl(greeting="SSH-2.0-OpenSSH_9.6\r\n\r\n")
    with pytest.raises(TargetError, match=r"is not a FreeSWITCH event socket: it greeted with "
                                          r"'SSH-2.0-OpenSSH_9.6', not Content-Type: auth/request"):
        session(server.port).__enter__()


# -- mod_callcenter -----------------------------------------------------------------------------
def test_queue_state_maps_agents_to_sip_usernames(esl: Any) -> None:
    server = esl(chunk=7)
    platform = adapter_for(target(server.port, agent_usernames={"agent-wei": "2003"}))
    state = platform.queue_state()
    assert state is not None
    agents, queues = state["agents"], state["queues"]
    assert {a: agents[a]["calls_taken"] for a in agents} == {"2001": 5, "2002": 1, "2003": 0,
                                                             "2004": 2}
    assert agents["2001"]["last_call"] == 1764280050.0 and agents["2003"]["last_call"] is None
    assert (agents["2002"]["busy"], agents["2002"]["logged_in"]) == (True, True)
    assert (agents["2003"]["paused"], agents["2003"]["logged_in"]) == (True, True)
    assert agents["2004"]["logged_in"] is False and agents["2001"]["registered"] is None
    assert agents["2001"]["queues"] == ["sales@default", "support@default"]
    assert agents["2003"]["agents"] == ["agent-wei"]
    sales = queues["sales@default"]
    assert (sales["strategy"], sales["completed"], sales["abandoned"]) == \
        ("agent-with-fewest-calls", 6, 1)
    assert sales["agents"] == ["2001", "2002", "2003"]
    assert sales["members"]["2002"] == {"agent": "2002@default", "tier_state": "Active Inbound",
                                        "level": 1, "position": 2, "status": "Available",
                                        "state": "In a queue call"}
    assert [(w["position"], w["caller"], w["state"]) for w in sales["waiting"]] == \
        [(1, "1003", "Trying"), (2, "1001", "Waiting")]  # by when they joined; Answered is gone
    assert queues["support@default"]["waiting"] == []
    assert server.commands == [f"auth {PASSWORD}", "api callcenter_config queue list",
                               "api callcenter_config agent list",
                               "api callcenter_config tier list",
                               "api callcenter_config queue list members sales@default",
                               "api callcenter_config queue list members support@default", "exit"]


def test_usernames_come_from_the_contact_else_the_name() -> None:
    assert user_from_contact("user/1001") == "1001"
    assert user_from_contact("[call_timeout=20]user/1001@default") == "1001"
    assert user_from_contact("{a=1,b=2}[c=3]sofia/internal/sip:1002@10.0.0.5:5060;transport=udp") \
        == "1002"
    assert user_from_contact("${sofia_contact(internal/1003@default)}") == "1003"
    assert user_from_contact("loopback/1004/default") == "default"  # why agent_usernames exists
    assert user_from_contact("error/user_not_registered") == "user_not_registered"
    assert user_from_contact("") is None and user_from_contact("1005") is None


def test_listings_are_read_strictly() -> None:
    assert parse_listing("+OK\n") == []
    assert parse_listing("queue|agent\nq|a\n+OK\n") == [{"queue": "q", "agent": "a"}]
    for bad, says in (("queue|agent\nq|a\n", "does not end with +OK"),
                      ("queue|agent\nq|a|x\n+OK\n", "line 2 has 3 fields where the header names 2"),
                      ("-USAGE: callcenter_config ...\n+OK\n", "its first line is not a header")):
        with pytest.raises(ListingError, match=re.escape(says)):
            parse_listing(bad)


@pytest.mark.parametrize("replies, says", [
    ({"callcenter_config queue list": framed("name|strategy\nsales|ring-all\n")},
     ("the answer to 'api callcenter_config queue list' is not a mod_callcenter listing: it does "
     "not end with +OK (its last line is 'sales|ring-all') (hint: is mod_callcenter loaded?")),
    ({"callcenter_config agent list": framed(f"{AGENT_COLUMNS}\n2001@default|single_box\n+OK\n")},
     ("the answer to 'api callcenter_config agent list' is not a mod_callcenter listing: line 2 "
     "has 2 fields where the header names 21")),
    ({"callcenter_config tier list": framed("queue|level\nsales|1\n+OK\n")},
     "it has no column 'agent' (its columns: queue, level)"),
    ({"callcenter_config queue list": framed("-ERR callcenter_config Command not found!\n")},
     ("answered 'api callcenter_config queue list' with '-ERR callcenter_config Command not "
     "found!' (hint: is mod_callcenter loaded? fs_cli -x 'load mod_callcenter'")),
    ({"callcenter_config queue list": "Content-Type: api/response\nContent-Length: lots\n\n+OK\n"},
     ("sent a malformed message while we waited for the api/response to 'api callcenter_config "
     "queue list': Content-Length 'lots' is not a size")),
], ids=["no +OK", "short row", "no agent column", "module not loaded", "bad length"])
def test_a_malformed_reply_is_named_with_the_command(esl: Any, replies: dict[str, str],
                                                     says: str) -> None:
    server = esl(replies=replies)
    with pytest.raises(TargetError) as caught:
        adapter_for(target(server.port)).queue_state()
    assert says in str(caught.value)
    assert str(caught.value).startswith(f"FreeSWITCH event socket at 127.0.0.1:{server.port}")


def test_a_body_cut_short_hits_the_deadline(esl: Any) -> None:
    server = esl(replies={"status": "Content-Type: api/response\nContent-Length: 500\n\nUP 0 y"})
    with pytest.raises(TargetError) as caught, session(server.port, timeout=0.3) as fs:
        fs.api("status")
    assert str(caught.value).startswith(
        f"FreeSWITCH event socket at 127.0.0.1:{server.port} went silent: waited 0.3s for the "
        f"rest of a 500-byte body (the api/response to 'api status'); 6 bytes")


# -- recordings, through the nested source ------------------------------------------------------
def directory(folder: Path, **extra: Any) -> dict[str, Any]:
    return {"type": "directory", "folder": str(folder), "recording_name": "cc-{call_id}", **extra}


def test_a_recording_found_through_the_directory_source_passes_the_recording_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, PASSWORD)
    folder = tmp_path / "recordings"
    recording(folder / f"cc-{CALL}.wav", CALL)
    recording(folder / "cc-another-call.wav")
    platform = adapter_for(target(recordings=directory(folder)))
    verdict = check_found(platform, CALL, tmp_path / "work", require_auth=False, now=NOW)
    assert (verdict.found_by, verdict.name, verdict.problems) == ("SIP Call-ID", f"cc-{CALL}", [])
    assert platform.get_recording(f"cc-{CALL}") == platform.find_recordings(CALL, *WINDOW)[0]
    with pytest.raises(NotSupported, match="decided by the file share"):  # the step's default
        check_found(platform, CALL, tmp_path / "work2", now=NOW)


def test_a_recording_without_the_calls_marker_fails_the_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, PASSWORD)
    folder = tmp_path / "recordings"
    recording(folder / "cc-earlier.wav", "earlier-call")  # no Call-ID in names: the audio decides
    platform = adapter_for(target(recordings=directory(folder, recording_name="cc-{caller}")))
    with pytest.raises(ExpectationFailed, match=r"scanned 1 recording\(s\) \(cc-earlier\)"):
        check_found(platform, CALL, tmp_path / "work", require_auth=False, within=0.2, now=NOW)


def test_the_sources_errors_name_its_fields_under_adapter_recordings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, PASSWORD)
    with pytest.raises(TargetError, match=r"adapter\.recordings\.folder must be the folder"):
        adapter_for(target(recordings={"type": "directory"}))
    with pytest.raises(TargetError, match=r"adapter\.recordings\.url must be an http\(s\) URL"):
        adapter_for(target(recordings={"type": "http", "url": "ftp://x"}))
    with pytest.raises(TargetError, match=r"adapter\.recordings\.recordings must say how to list"):
        adapter_for(target(recordings={"type": "http", "url": "http://127.0.0.1:9"}))
    with pytest.raises(TargetError, match=r"adapter.recordings must say where FreeSWITCH's "
                                          r"recordings are, with type directory .* not 'asterisk'"):
        adapter_for(target(recordings={"type": "asterisk"}))
    missing = adapter_for(target(recordings=directory(tmp_path / "not-mounted")))
    with pytest.raises(TargetError, match=r"does not exist or is not a folder \(hint: is the share "
                                          r"mounted on this host\? check adapter\.recordings\.folder "
                                          r"in /profiles/freeswitch.yaml\)"):
        missing.find_recordings(CALL, *WINDOW)
    with pytest.raises(TargetError, match=r"adapter\.esl\.password must be \$\{ENV:NAME\}"):
        adapter_for(target(esl={"host": "127.0.0.1", "password": "literal"}))


def test_retention_is_the_profiles_word_and_clock_and_purge_not_supported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, PASSWORD)
    profile = target(recordings=directory(tmp_path), retention_days=190)
    platform = adapter_for(profile)
    assert platform.retention_days() is None  # a folder cannot say: the step takes the profile's
    assert retention_source(profile, platform) == (190, f"adapter.retention_days in {PROFILE}")
    from harness.steps.recorded import declared_days

    run = cast(Any, SimpleNamespace(target=target(recordings=directory(tmp_path))))
    with pytest.raises(TargetError, match=r"declares no adapter\.retention_days"):
        declared_days(run, platform)
    with pytest.raises(NotSupported, match="FreeSWITCH cannot move its clock"):
        platform.set_clock_offset(191)
    with pytest.raises(NotSupported, match="no retention policy of its own"):
        platform.purge()


# -- profiles ---------------------------------------------------------------------------------
def test_the_example_profile_loads_and_builds_the_adapter() -> None:
    platform = adapter_for(load_target(EXAMPLE))
    assert isinstance(platform, FreeswitchPlatform)
    assert (platform.esl.host, platform.esl.port) == ("fs.example.com", 8021)
    assert platform.esl.password == Secret("CC_ESL_PASSWORD")
    assert isinstance(platform.recordings, DirectoryPlatform)
    assert platform.recordings.folder == Path("/var/lib/freeswitch/recordings")
    assert platform.recordings.names.carries_call_id and platform.retention_days() is None


def test_the_examples_http_source_loads_too(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    start = text.index("  recordings:\n    type: directory")
    end = text.index("  # Or, when an HTTP service")
    http = text[end:].split("\n  # Only for agents")[0]
    http = "\n".join(line.replace("  # ", "  ", 1) for line in http.splitlines()[1:])
    profile = tmp_path / "fs-http.yaml"
    profile.write_text(text[:start] + http + "\n" + text[end:], encoding="utf-8")
    platform = adapter_for(load_target(profile))
    assert isinstance(platform, FreeswitchPlatform)
    assert platform.recordings.description == "HTTP recording API at https://recorder.example.com/api"


def test_a_bad_freeswitch_adapter_section_is_reported_at_load(tmp_path: Path) -> None:
    profile = tmp_path / "bad.yaml"
    profile.write_text("name: bad\nplatform: {host: 127.0.0.1}\nadapter:\n  type: freeswitch\n"
                       "  esl: {port: 8021, password: hunter2}\n"
                       "  recording: {type: directory}\n", encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_target(profile)
    text = str(caught.value)
    assert "adapter: missing required field 'recordings'" in text
    assert f"{profile}:6:3: adapter.recording: not a field of the freeswitch adapter" in text
    assert "adapter.esl.password: a literal password is not allowed" in text
    assert "hunter2" not in text
    nested = tmp_path / "nested.yaml"
    nested.write_text("name: bad\nplatform: {host: 127.0.0.1}\nadapter:\n  type: freeswitch\n"
                      "  recordings:\n    type: directory\n    folders: /mnt/rec\n"
                      "    retention_days: 190\n", encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_target(nested)
    text = str(caught.value)
    assert "adapter: missing required field 'esl'" in text
    assert "adapter.recordings: missing required field 'folder'" in text
    assert f"{nested}:7:5: adapter.recordings.folders: not a field of a directory source" in text
    assert "adapter.recordings.retention_days: not a field of a directory source" in text
    assert "retention_days and storage belong to adapter:" in text


def test_an_http_adapter_keeps_its_own_recordings_section(tmp_path: Path) -> None:
    profile = tmp_path / "http.yaml"
    profile.write_text("name: h\nplatform: {host: 127.0.0.1}\nadapter:\n  type: http\n"
                       "  url: http://127.0.0.1:9\n  recordings: {lists: /r}\n", encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_target(profile)
    text = str(caught.value)
    assert "adapter.recordings: missing required field 'list'" in text
    assert "adapter.recordings.lists: unknown field 'lists'" in text
