"""The reference adapter over real HTTP on 127.0.0.1: what it reads, and every way it fails.

The happy path and the platform's own refusals use the reference API
(`ApiThread` over a temporary `RecordingStore`) -- in tests only: the harness
itself never imports `fixtures.reference`.  Broken servers (5xx, a body cut
short, a server that never answers, nothing listening) are small
`http.server`s started here.
"""

from __future__ import annotations

import hashlib
import http.server
import math
import socket
import struct
import threading
import wave
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fixtures.reference.api import ApiThread, Credentials, create_app
from fixtures.reference.store import RecordingMeta, RecordingStore
from harness.errors import TargetError
from harness.targets.adapter import NotSupported, Platform, RecordingInfo, profile_retention_days
from harness.targets.model import Secret, Target
from harness.targets.reference import ReferencePlatform
from harness.targets.registry import adapter_for
from tests.ports import free_tcp_port

USER, PASSWORD, ENV = "supervisor", "Adapter-t3st-pw", "CC_TEST_ADAPTER_PW"
CALL_ID = "adapter-call-1@127.0.0.1"
NOW = datetime.now(UTC)


def write_wav(path: Path, seconds: float = 1.0) -> Path:
    frames = (int(8000 * math.sin(2 * math.pi * 440 * i / 8000)) for i in range(int(seconds * 8000)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(struct.pack("<h", s) for s in frames))
    return path


def target(url: str, **extra: object) -> Target:
    adapter = {"type": "reference", "url": url, "username": USER, "password": Secret(ENV), **extra}
    return Target(name="t", path=Path("/profiles/test.yaml"), host="127.0.0.1", port=5060,
                  transport="udp", domain="127.0.0.1", outbound_proxy=None, managed="none",
                  dids={}, accounts={}, prompts=None, adapter=adapter)


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ApiThread, RecordingStore]]:
    monkeypatch.setenv(ENV, PASSWORD)
    store = RecordingStore(tmp_path / "store")
    started = NOW - timedelta(seconds=30)
    store.add(write_wav(tmp_path / "a.wav"),
              RecordingMeta(CALL_ID, "1001", "4001", started, started + timedelta(seconds=1)))
    with ApiThread(create_app(store, Credentials(USER, PASSWORD))) as thread:
        yield thread, store


def test_the_adapter_is_chosen_by_type_and_satisfies_the_protocol(api: tuple[ApiThread, RecordingStore]) -> None:
    platform = adapter_for(target(api[0].url))
    assert isinstance(platform, ReferencePlatform) and isinstance(platform, Platform)
    assert PASSWORD not in repr(platform) and f"${{ENV:{ENV}}}" in repr(platform)


def test_a_profile_without_adapter_or_with_an_unknown_one_says_so() -> None:
    bare = target("http://x")
    bare = Target(**{**bare.__dict__, "adapter": {}})
    with pytest.raises(TargetError, match="has no adapter: section"):
        adapter_for(bare)
    with pytest.raises(TargetError, match="adapter type 'ari' is not available"):
        adapter_for(target("http://x", type="ari"))
    with pytest.raises(TargetError, match=r"adapter\.url must be an http"):
        adapter_for(target("127.0.0.1:8188"))


def test_profile_retention_is_the_fallback_when_declared() -> None:
    assert profile_retention_days(target("http://x")) is None
    assert profile_retention_days(target("http://x", retention_days=200)) == 200
    with pytest.raises(TargetError, match="positive whole number"):
        profile_retention_days(target("http://x", retention_days="six months"))


def test_find_fetch_and_hash(api: tuple[ApiThread, RecordingStore], tmp_path: Path) -> None:
    platform = adapter_for(target(api[0].url))
    window = (NOW - timedelta(minutes=5), NOW + timedelta(minutes=5))
    found = platform.find_recordings(CALL_ID, *window)
    assert [r.call_id for r in found] == [CALL_ID]
    rec = found[0]
    assert rec.format == "wav" and rec.size == 16044 and rec.duration_s == pytest.approx(1.0)
    assert platform.find_recordings("some-other-call", *window) == []
    assert platform.find_recordings(None, NOW, NOW + timedelta(minutes=5)) == []  # started before
    (tmp_path / "dl").mkdir()
    path = platform.fetch(rec, tmp_path / "dl")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == rec.sha256
    assert platform.get_recording(rec.name) == rec
    assert platform.get_recording("rec-nothing") is None
    assert platform.fetch_unauthenticated(rec) == 401


def test_retention_clock_purge_and_queues(api: tuple[ApiThread, RecordingStore]) -> None:
    thread, store = api
    platform = adapter_for(target(thread.url))
    assert platform.retention_days() == 190
    platform.set_clock_offset(191.5)
    assert store.clock_offset_days == 191.5
    assert platform.purge() == [f"rec-{CALL_ID.replace('@', '_')}"]
    platform.set_clock_offset(0)
    assert platform.queue_state() is None  # this API has no ACD router mounted


def test_wrong_credentials_name_the_environment_variable(
    api: tuple[ApiThread, RecordingStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, "not-the-password")
    with pytest.raises(TargetError) as caught:
        adapter_for(target(api[0].url)).retention_days()
    text = str(caught.value)
    assert "401 wrong credentials" in text and ENV in text and "/profiles/test.yaml" in text
    assert "not-the-password" not in text and PASSWORD not in text


def test_an_unset_password_variable_is_named(api: tuple[ApiThread, RecordingStore],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV)
    with pytest.raises(TargetError, match=f"environment variable {ENV} is not set"):
        adapter_for(target(api[0].url)).retention_days()


def test_nothing_listening_names_the_url_and_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, PASSWORD)
    url = f"http://127.0.0.1:{free_tcp_port()}"
    with pytest.raises(TargetError) as caught:
        adapter_for(target(url)).retention_days()
    text = str(caught.value)
    assert f"cannot connect to {url}/reference/retention: connection refused" in text
    assert "fixtures.reference status" in text and "adapter.url in /profiles/test.yaml" in text


def test_a_server_that_never_answers_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, PASSWORD)
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (backlog), never replies
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(TargetError, match=r"GET /reference/retention got no answer within 0.5s"):
            adapter_for(target(url, timeout=0.5)).retention_days()


Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


@pytest.fixture
def broken(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Handler], str]]:
    """A one-handler HTTP server on a free port; returns its URL."""
    monkeypatch.setenv(ENV, PASSWORD)
    servers: list[http.server.HTTPServer] = []

    def start(handle: Handler) -> str:
        class One(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                handle(self)

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.HTTPServer(("127.0.0.1", 0), One)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_server_error_is_reported_with_the_platforms_message(broken: Callable[[Handler], str]) -> None:
    def fail(h: http.server.BaseHTTPRequestHandler) -> None:
        body = b'{"message": "database is locked"}'
        h.send_response(503)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    with pytest.raises(TargetError) as caught:
        adapter_for(target(broken(fail))).retention_days()
    assert "GET /reference/retention failed on the platform's side: 503 Service Unavailable: " \
           "database is locked" in str(caught.value)


def test_a_download_cut_short_is_an_error_and_leaves_no_file(broken: Callable[[Handler], str],
                                                             tmp_path: Path) -> None:
    def short(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "16044")
        h.end_headers()
        h.wfile.write(b"RIFF" + b"\0" * 996)
        h.wfile.flush()
        h.close_connection = True

    platform = adapter_for(target(broken(short)))
    info = RecordingInfo("rec-x", "x", None, None, None, 16044, "wav")
    with pytest.raises(TargetError, match=r"download of recording rec-x broke off after 1000 of 16044"):
        platform.fetch(info, tmp_path)
    assert not (tmp_path / "rec-x.wav").exists()


def test_a_body_that_is_not_json_is_named(broken: Callable[[Handler], str]) -> None:
    def html(h: http.server.BaseHTTPRequestHandler) -> None:
        body = b"<html>login</html>"
        h.send_response(200)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    with pytest.raises(TargetError, match=r"/reference/retention is not JSON \(18 bytes"):
        adapter_for(target(broken(html))).retention_days()


def test_not_supported_is_a_target_error() -> None:
    assert issubclass(NotSupported, TargetError)
