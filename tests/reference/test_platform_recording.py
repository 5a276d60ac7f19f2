"""Recordings of real bridged calls, fetched over the platform's HTTP API.

The caller (1001) calls sales (4001); the agent's phone plays a 1600 Hz tone
when it answers and the caller's a 1000 Hz tone two seconds later; the
caller hangs up after 4.5 s. The recording is found by the caller's SIP
Call-ID (``/reference/recordings?call_id=``) and downloaded through the
ARI-shaped ``/ari/recordings/stored/{name}/file`` with Basic credentials.
"""

from __future__ import annotations

import http.client
import shutil
from collections.abc import Callable
from typing import Any

import pytest

from tests.reference.conftest import (
    AGENT_TONE,
    CALLER_TONE,
    TONE_SECONDS,
    Bridged,
    Desk,
    RefPlatform,
    Stored,
    purge_at,
    recorded,
    reset_clock,
    tone_agent,
)

pytestmark = [
    pytest.mark.sip,
    pytest.mark.kamailio,
    pytest.mark.skipif(shutil.which("kamailio") is None, reason="needs Debian's kamailio package"),
]


def record_one(desk: Desk) -> tuple[Bridged, Stored]:
    agent = tone_agent(desk.work)
    desk.start({"2001": agent, "2002": agent, "2003": agent})
    call, stored = desk.run(recorded(desk))
    assert stored.rows, f"no recording of call {call.call.sip_call_id}"
    return call, stored


@pytest.fixture(scope="module")
def one(platform: RefPlatform, tmp_path_factory: pytest.TempPathFactory) -> tuple[Bridged, Stored]:
    """One recorded call for the module; its phones are closed (unregistered) at once."""
    desk = Desk(platform, tmp_path_factory.mktemp("recording-phones"))
    try:
        return record_one(desk)
    finally:
        desk.close()


def test_the_recording_names_the_call_it_recorded(one: tuple[Bridged, Stored]) -> None:
    call, stored = one
    row = stored.row
    assert row["sip_call_id"] == call.call.sip_call_id
    assert (row["caller"], row["did"], row["queue"], row["agent"]) == ("1001", "4001", "sales",
                                                                      call.agent)
    assert (row["format"], row["rate"], row["channels"]) == ("wav", 8000, 1)


def test_the_recording_holds_both_parties(one: tuple[Bridged, Stored]) -> None:
    _, stored = one
    for who, freq in (("agent", AGENT_TONE), ("caller", CALLER_TONE)):
        heard = stored.tone_seconds(freq)
        assert TONE_SECONDS - 0.3 <= heard <= TONE_SECONDS + 0.3, f"{who}'s {freq:g} Hz: {heard:.2f}s"


def test_the_recording_lasts_as_long_as_the_bridge(one: tuple[Bridged, Stored]) -> None:
    call, stored = one
    assert abs(stored.seconds - call.bridged_s) <= 1.0, (stored.seconds, call.bridged_s)
    assert abs(stored.row["duration_s"] - stored.seconds) < 0.05


def test_the_file_matches_the_sha256_of_its_row(one: tuple[Bridged, Stored]) -> None:
    _, stored = one
    assert stored.sha256 == stored.row["sha256"]
    assert len(stored.data or b"") == stored.row["bytes"]


WRONG: list[Any] = [None, ("admin", "not-the-password"), ("root", "")]


@pytest.mark.parametrize("credentials", WRONG, ids=["none", "wrong-password", "wrong-user"])
def test_the_api_refuses_missing_or_wrong_credentials(
    platform: RefPlatform, one: tuple[Bridged, Stored], credentials: Any
) -> None:
    name = one[1].row["name"]
    requests_: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/ari/recordings/stored", {}),
        ("GET", f"/ari/recordings/stored/{name}", {}),
        ("GET", f"/ari/recordings/stored/{name}/file", {}),
        ("DELETE", f"/ari/recordings/stored/{name}", {}),
        ("GET", "/reference/recordings", {"params": {"call_id": one[0].call.sip_call_id}}),
        ("GET", f"/reference/recordings/{name}", {}),
        ("PUT", "/reference/clock", {"json": {"offset_days": 400}}),
        ("POST", "/reference/purge", {}),
        ("PUT", "/reference/retention", {"json": {"days": 1}}),
    ]
    for method, path, kwargs in requests_:
        answer = platform.api(method, path, auth=credentials, **kwargs)
        assert answer.status_code == 401, f"{method} {path}: {answer.status_code}"
        assert answer.headers.get("WWW-Authenticate", "").startswith("Basic")
        assert b"RIFF" not in answer.content
    assert platform.api("GET", f"/reference/recordings/{name}").status_code == 200  # still there
    assert platform.api("GET", "/reference/retention").json()["days"] == 190


TRAVERSALS = [
    "..%2F..%2Fsecrets.env",
    "..%2Fplatform.json",
    "%2e%2e%2f%2e%2e%2fsecrets.env",
    "..%5C..%5Csecrets.env",
    "..",
    ".hidden",
    "recordings.sqlite",
    "..%252F..%252Fsecrets.env",
]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_the_api_refuses_names_that_leave_the_store(
    platform: RefPlatform, one: tuple[Bridged, Stored], name: str
) -> None:
    secret = platform.secrets["CC_REF_API_PASSWORD"].encode()
    host, port = platform.api_url.removeprefix("http://").split(":")
    for method, path in (("GET", f"/ari/recordings/stored/{name}/file"),
                         ("GET", f"/ari/recordings/stored/{name}"),
                         ("GET", f"/reference/recordings/{name}"),
                         ("DELETE", f"/ari/recordings/stored/{name}")):
        # http.client sends the path byte for byte: no client-side normalising
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        try:
            conn.request(method, path, headers={"Authorization": _basic(platform)})
            answer = conn.getresponse()
            body = answer.read()
        finally:
            conn.close()
        assert answer.status in (400, 404), f"{method} {path}: {answer.status}"
        assert secret not in body and b"RIFF" not in body and b"SQLite" not in body
    assert platform.api("GET", f"/reference/recordings/{one[1].row['name']}").status_code == 200


def _basic(platform: RefPlatform) -> str:
    import base64

    user, password = platform.api_auth
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_purge_keeps_a_recording_until_day_190_and_deletes_it_at_day_191(
    platform: RefPlatform, desk_for: Callable[[RefPlatform], Desk]
) -> None:
    _, stored = record_one(desk_for(platform))
    name = stored.row["name"]
    assert platform.api("GET", "/reference/retention").json()["days"] == 190
    try:
        for day in (182, 190):
            assert name not in purge_at(platform, day), f"purged at day {day}"
            assert platform.api("GET", f"/ari/recordings/stored/{name}/file").status_code == 200
        assert name in purge_at(platform, 191)
    finally:
        reset_clock(platform)
    assert platform.api("GET", f"/reference/recordings/{name}").status_code == 404
    assert platform.api("GET", f"/ari/recordings/stored/{name}/file").status_code == 404
    assert platform.recordings(stored.row["sip_call_id"]) == []
