"""The Asterisk adapter against the bytes a real Asterisk 22.10.1 sent (``tests/data/asterisk22``).

The fakes in ``ami_replay`` and ``ari_replay`` answer with captured bytes and
check the adapter's requests against the captured ones, so the adapter's idea
of AMI and ARI is tested against Asterisk's, not against itself.  The system
states (S0 ... S4) are those of the captures' README: two queues, ``sales``
(agent1..3) and ``support`` (agent2, agent3), ``shared_lastcall = yes``.
"""

from __future__ import annotations

import hashlib
import wave
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from harness.errors import TargetError
from harness.targets.adapter import RecordingInfo
from harness.targets.ami import AmiSession
from harness.targets.ami import queue_state as mapped
from harness.targets.model import Secret, Target
from harness.targets.registry import adapter_for
from tests.targets import ari_replay
from tests.targets.ami_replay import AmiReplay
from tests.targets.ari_replay import AFTER_CALLS, CALL3, EMPTY, STORED, AriReplay

ARI_ENV, AMI_ENV = "CC_TEST_AST22_ARI_PW", "CC_TEST_AST22_AMI_SECRET"
CALL_IDS = {  # the SIP Call-IDs of the three captured calls
    1: "oC0uMTuwdMqYUsvHxg71uIbfRdW4Oz8o",
    2: "U5239WDj0Ftpxpmb-DJTWgFN0FCpMK.C",
    3: "bkQ8HmxzhhxPmezh0JDRg2q2BtKi5pe6",
}
NAMES = ["rec-U5239WDj0FtpxpmbDJTWgFN0FCpMKC", CALL3, "rec-oC0uMTuwdMqYUsvHxg71uIbfRdW4Oz8o"]
FILE_SHA256 = "7e0cab4fff2cccdcf4eefc1b5d51b7ba273517c21b116bd1735b0c8f8e8f2c4f"  # body-summary.txt
ANY_TIME = (datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(days=3650))
STATES = {  # QueueStatus and QueueSummary captured in the same system state
    "S0": {"QueueStatus": "ami-05-queuestatus-no-agents", "QueueSummary": "ami-06-queuesummary-no-agents"},
    "S1": {"QueueStatus": "ami-10-queuestatus-idle", "QueueSummary": "ami-12-queuesummary-idle"},
    "S2": {"QueueStatus": "ami-21-queuestatus-connected", "QueueSummary": "ami-23-queuesummary-connected"},
    "S3": {"QueueStatus": "ami-30-queuestatus-caller-waiting",
           "QueueSummary": "ami-32-queuesummary-caller-waiting"},
}


def target(url: str, ami_port: int | None = None, **extra: Any) -> Target:
    adapter: dict[str, Any] = {"type": "asterisk", "url": url, "username": ari_replay.USER,
                               "password": Secret(ARI_ENV), "timeout": 2, **extra}
    if ami_port is not None:  # the captures logged in as "harness"
        adapter["ami"] = {"host": "127.0.0.1", "port": ami_port, "username": "harness",
                          "secret": Secret(AMI_ENV)}
    return Target(name="t", path=Path("/profiles/asterisk22.yaml"), host="127.0.0.1", port=5060,
                  transport="udp", domain="127.0.0.1", outbound_proxy=None, managed="none",
                  dids={}, accounts={}, prompts=None, adapter=adapter)


@pytest.fixture
def ari(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., AriReplay]]:
    monkeypatch.setenv(ARI_ENV, ari_replay.PASSWORD)
    servers: list[AriReplay] = []

    def start(captured: dict[str, str], stored: tuple[str, ...] = ()) -> AriReplay:
        servers.append(AriReplay(captured, stored))
        return servers[-1]

    yield start
    for server in servers:
        server.close()
    assert [e for s in servers for e in s.errors] == []


@pytest.fixture
def ami(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., AmiReplay]]:
    monkeypatch.setenv(AMI_ENV, "the secret is not checked: the capture's is redacted")
    servers: list[AmiReplay] = []

    def start(plays: dict[str, str], session: str = "ami-02-login-ping-logoff") -> AmiReplay:
        servers.append(AmiReplay(plays, session))
        return servers[-1]

    yield start
    for server in servers:
        server.close()
    assert [e for s in servers for e in s.errors] == []


def queue_state(ami: Callable[..., AmiReplay], state: str) -> tuple[dict[str, Any], AmiReplay]:
    server = ami(STATES[state])
    found = adapter_for(target("http://127.0.0.1:9", ami_port=server.port)).queue_state()
    assert found is not None
    return found, server


# -- AMI: queue state ----------------------------------------------------------------------
def test_the_adapter_asks_as_asterisk_was_asked(ami: Callable[..., AmiReplay]) -> None:
    _, server = queue_state(ami, "S1")
    assert server.actions == ["Login", "QueueStatus", "QueueSummary", "Logoff"]
    login = server.requests[0].decode()
    assert login.startswith("Action: Login\r\nUsername: harness\r\nSecret: ") and login.endswith(
        "\r\nEvents: off\r\nActionID: ccharness-1\r\n\r\n")  # Events: off, so no FullyBooted
    assert server.requests[1] == b"Action: QueueStatus\r\nActionID: ccharness-2\r\n\r\n"


def test_idle_agents_are_registered_and_free(ami: Callable[..., AmiReplay]) -> None:
    state, _ = queue_state(ami, "S1")
    agents, queues = state["agents"], state["queues"]
    assert sorted(agents) == ["agent1", "agent2", "agent3"]  # Location PJSIP/agentN -> agentN
    assert {a: (v["registered"], v["busy"], v["paused"], v["calls_taken"]) for a, v in agents.items()} \
        == {a: (True, False, False, 0) for a in agents}
    assert agents["agent2"]["queues"] == ["support", "sales"]  # Asterisk lists support first
    assert (queues["sales"]["strategy"], queues["support"]["strategy"]) == ("rrmemory", "leastrecent")
    assert queues["sales"]["agents"] == ["agent1", "agent2", "agent3"]
    assert queues["sales"]["members"]["agent1"]["device_state"] == "NOT_INUSE"  # Status: 1
    assert queues["sales"]["members"]["agent1"]["interface"] == "PJSIP/agent1"
    assert (queues["sales"]["logged_in"], queues["sales"]["available"], queues["sales"]["callers"]) \
        == (3, 3, 0)
    assert queues["sales"]["waiting"] == []


def test_unregistered_members_are_status_5(ami: Callable[..., AmiReplay]) -> None:
    state, _ = queue_state(ami, "S0")
    assert {a: v["registered"] for a, v in state["agents"].items()} == \
        {"agent1": False, "agent2": False, "agent3": False}
    assert state["queues"]["support"]["members"]["agent3"]["device_state"] == "UNAVAILABLE"


def test_the_agent_in_a_call_is_busy_before_its_call_is_counted(ami: Callable[..., AmiReplay]) -> None:
    state, _ = queue_state(ami, "S2")
    agent1 = state["agents"]["agent1"]
    assert (agent1["registered"], agent1["busy"], agent1["calls_taken"]) == (True, True, 0)
    assert state["queues"]["sales"]["members"]["agent1"]["device_state"] == "INUSE"  # Status: 2
    assert (state["queues"]["sales"]["calls"], state["queues"]["sales"]["completed"]) == (0, 0)
    assert not state["agents"]["agent2"]["busy"]


def test_a_waiting_caller_and_a_ringing_agent(ami: Callable[..., AmiReplay]) -> None:
    state, _ = queue_state(ami, "S3")
    sales, agent2 = state["queues"]["sales"], state["agents"]["agent2"]
    assert sales["waiting"] == [{"position": 1, "waited": 5, "channel": "PJSIP/caller-00000002",
                                 "caller": "caller", "uniqueid": "1796378666.2"}]
    assert sales["members"]["agent2"]["device_state"] == "RINGING"  # Status: 6
    assert (agent2["registered"], agent2["busy"]) == (True, False)  # ringing is not yet taken
    assert (sales["callers"], sales["available"], sales["longest_hold_time"]) == (1, 2, 6)
    assert state["agents"]["agent1"]["calls_taken"] == 1 and sales["completed"] == 1


def test_shared_lastcall_counts_a_call_once(ami: Callable[..., AmiReplay]) -> None:
    """S4: agent3 took one call (call 2, through sales); with ``shared_lastcall = yes``
    Asterisk writes ``CallsTaken: 1`` and the same ``LastCall`` under support too."""
    session = AmiSession("127.0.0.1", ami({"QueueStatus": "ami-40-queuestatus-after-calls"}).port,
                         "harness", Secret(AMI_ENV), 2.0)
    with session:
        status = session.event_list("QueueStatus", "QueueStatusComplete")
    agents = mapped(status, [])["agents"]  # no QueueSummary was captured in S4
    assert {a: v["calls_taken"] for a, v in agents.items()} == {"agent1": 2, "agent2": 0, "agent3": 1}
    assert agents["agent3"]["last_call"] == 1796378687.0
    assert agents["agent3"]["queues"] == ["support", "sales"]


def test_an_unknown_queue_is_an_empty_list(ami: Callable[..., AmiReplay]) -> None:
    server = ami({"QueueStatus": "ami-15-queuestatus-unknown-queue"})
    with AmiSession("127.0.0.1", server.port, "harness", Secret(AMI_ENV), 2.0) as session:
        assert session.event_list("QueueStatus", "QueueStatusComplete", Queue="nosuchqueue") == []


def test_an_action_asterisk_refuses_names_its_message(ami: Callable[..., AmiReplay]) -> None:
    server = ami({"NoSuchAction": "ami-04-unknown-action"})
    with pytest.raises(TargetError, match=r"refused NoSuchAction for user 'harness': Invalid/unknown "
                                          r"command: NoSuchAction\. Use Action: ListCommands"), \
            AmiSession("127.0.0.1", server.port, "harness", Secret(AMI_ENV), 2.0) as session:
        session.event_list("NoSuchAction", "NoSuchActionComplete")


def test_a_refused_login_is_named_and_asterisk_hangs_up(ami: Callable[..., AmiReplay]) -> None:
    server = ami({}, session="ami-01-login-failure")
    with pytest.raises(TargetError) as caught:
        adapter_for(target("http://127.0.0.1:9", ami_port=server.port)).queue_state()
    assert f"AMI at 127.0.0.1:{server.port} refused the login of user 'harness': Authentication " \
           f"failed (hint: check the secret in environment variable {AMI_ENV}" in str(caught.value)
    assert server.actions == ["Login"]


# -- ARI: stored recordings ----------------------------------------------------------------
def test_a_calls_recording_is_found_read_and_downloaded(ari: Callable[..., AriReplay],
                                                        tmp_path: Path) -> None:
    server = ari(AFTER_CALLS, tuple(NAMES))
    platform = adapter_for(target(server.url, recording_name="rec-{call_id}"))
    found = platform.find_recordings(CALL_IDS[3], *ANY_TIME)
    assert [(r.name, r.call_id, r.format) for r in found] == [(CALL3, CALL_IDS[3], "wav")]
    assert platform.get_recording(CALL3) == found[0]
    path = platform.fetch(found[0], tmp_path)
    assert path == tmp_path / f"{CALL3}.wav"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == FILE_SHA256
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate(), wav.getnframes()) == \
            (1, 2, 8000, 16000)
    assert platform.fetch_unauthenticated(found[0]) == 401
    assert (f"{STORED}/{CALL3}/file", False) in server.seen


def test_names_without_a_template_are_candidates_in_name_order(ari: Callable[..., AriReplay]) -> None:
    platform = adapter_for(target(ari(AFTER_CALLS, tuple(NAMES)).url))
    found = platform.find_recordings(CALL_IDS[2], *ANY_TIME)  # FILTER() dropped its - and .
    assert [(r.name, r.call_id, r.started_utc, r.size) for r in found] == \
        [(n, None, None, None) for n in NAMES]  # ARI says name and format, nothing more


def test_nothing_recorded_yet(ari: Callable[..., AriReplay], tmp_path: Path) -> None:
    platform = adapter_for(target(ari(EMPTY).url, recording_name="rec-{call_id}"))
    assert platform.find_recordings(CALL_IDS[1], *ANY_TIME) == []  # the body is the 2 bytes []
    assert platform.get_recording("rec-doesnotexist") is None  # 404 Recording not found
    rec = RecordingInfo(name="rec-doesnotexist", call_id=None, started_utc=None, duration_s=None,
                        sha256=None, size=None, format="wav")
    with pytest.raises(TargetError, match=r"GET /ari/recordings/stored/rec-doesnotexist/file answered "
                                          r"404 Not Found: Recording not found$"):
        platform.fetch(rec, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_wrong_password_is_a_401_named_with_the_url(ari: Callable[..., AriReplay],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    server = ari(AFTER_CALLS, tuple(NAMES))
    monkeypatch.setenv(ARI_ENV, "not-the-password")
    platform = adapter_for(target(server.url))
    for call in (lambda: platform.find_recordings(None, *ANY_TIME), lambda: platform.get_recording(CALL3)):
        with pytest.raises(TargetError) as caught:
            call()
        text = str(caught.value)
        assert f"Asterisk ARI at {server.url} refused user 'harness': 401 wrong credentials" in text
        assert ARI_ENV in text and "not-the-password" not in text


def test_a_url_that_misses_ari_is_not_a_missing_recording(ari: Callable[..., AriReplay]) -> None:
    """Asterisk tells "Recording not found" from "Resource not found" (a path that is not
    ARI's) and from its HTML 404 (a path outside /ari): only the first means no recording."""
    server = ari(AFTER_CALLS, tuple(NAMES))
    elsewhere = adapter_for(target(server.url + "/asterisk"))  # a prefix http.conf does not have
    with pytest.raises(TargetError, match=rf"Asterisk ARI at {server.url}/asterisk: GET /ari/recordings/"
                                          r"stored/rec-x answered 404 Not Found, not ARI's answer for "
                                          r"a recording .*adapter\.url"):
        elsewhere.get_recording("rec-x")
    with pytest.raises(TargetError, match=r"GET /ari/recordings/stored answered 404 Not Found$"):
        elsewhere.find_recordings(None, *ANY_TIME)
    doubled = adapter_for(target(server.url + "/ari/ari"))  # /ari/ari/recordings/...: not ARI's
    with pytest.raises(TargetError, match=r"GET /ari/recordings/stored/rec-x answered 404 Not Found: "
                                          r"Resource not found, not ARI's answer for a recording"):
        doubled.get_recording("rec-x")
    assert ("/ari/ari/recordings/stored/rec-x", True) in server.seen
