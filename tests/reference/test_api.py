"""The reference platform's HTTP API over real HTTP on 127.0.0.1.

The server runs in a background thread (`ApiThread`) on a free port, or as
`python -m fixtures.reference.api` in a subprocess for the command line.
Path-traversal attempts go through `http.client` so that no client library
normalises the path before it reaches the server.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import math
import os
import struct
import subprocess
import sys
import time
import wave
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.client import HTTPConnection
from pathlib import Path

import pytest
import requests

from fixtures.reference.api import ApiThread, Credentials, Redactor, create_app
from fixtures.reference.store import RecordingMeta, RecordingStore
from tests.ports import free_tcp_port

REPO = Path(__file__).resolve().parents[2]
USER, PASSWORD = "supervisor", "S3cret-p4ss!word"
AUTH = (USER, PASSWORD)
TOKEN = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
CHALLENGE = 'Basic realm="reference"'
CALL_ID = "3848276298220188511@127.0.0.1"
NAME = "rec-3848276298220188511_127.0.0.1"
STARTED = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)

Serve = Callable[..., tuple[ApiThread, RecordingStore]]


def write_wav(path: Path, seconds: float) -> Path:
    """A 440 Hz tone as 8 kHz 16-bit mono PCM."""
    frames = (
        int(8000 * math.sin(2 * math.pi * 440 * i / 8000)) for i in range(int(seconds * 8000))
    )
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"".join(struct.pack("<h", s) for s in frames))
    return path


def add_call(store: RecordingStore, tmp_path: Path, call_id: str = CALL_ID, hours: int = 0) -> str:
    started = STARTED + timedelta(hours=hours)
    meta = RecordingMeta(call_id, "1001", "500", started, started + timedelta(seconds=1), "sales")
    return store.add(write_wav(tmp_path / f"{hours}.wav", 1.0), meta).name


@pytest.fixture
def log_text() -> Iterator[io.StringIO]:
    """Everything the server logs (uvicorn's and ours), at every level."""
    text = io.StringIO()
    handler = logging.StreamHandler(text)
    handler.setLevel(logging.DEBUG)
    loggers = [logging.getLogger(n) for n in ("uvicorn", "fixtures.reference")]
    levels = [lg.level for lg in loggers]
    logging.getLogger().addHandler(handler)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    yield text
    logging.getLogger().removeHandler(handler)
    for lg, level in zip(loggers, levels, strict=True):
        lg.setLevel(level)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """Start the API over a fresh store with the given faults; stopped after the test."""
    started: list[ApiThread] = []

    def start(*faults: str) -> tuple[ApiThread, RecordingStore]:
        store = RecordingStore(tmp_path / "store", faults)
        api = ApiThread(create_app(store, Credentials(USER, PASSWORD))).start()
        started.append(api)
        return api, store

    yield start
    for api in started:
        api.stop()


@pytest.fixture
def web() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # loopback only: no proxy from the environment
        yield session


def raw_get(api: ApiThread, path: str, auth: bool = True) -> tuple[int, bytes]:
    """GET `path` exactly as written (no client-side normalisation)."""
    conn = HTTPConnection(api.host, api.port, timeout=5)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        if auth:
            conn.putheader("Authorization", f"Basic {TOKEN}")
        conn.endheaders()
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


# -- authentication --------------------------------------------------------------------
GUARDED = [
    ("GET", "/ari/recordings/stored"),
    ("GET", f"/ari/recordings/stored/{NAME}"),
    ("GET", f"/ari/recordings/stored/{NAME}/file"),
    ("DELETE", f"/ari/recordings/stored/{NAME}"),
    ("GET", "/reference/recordings"),
    ("GET", f"/reference/recordings/{NAME}"),
    ("GET", "/reference/retention"),
    ("PUT", "/reference/retention"),
    ("PUT", "/reference/clock"),
    ("POST", "/reference/purge"),
    ("GET", "/reference/faults"),
]


@pytest.mark.parametrize("auth", [None, (USER, "wrong"), ("intruder", PASSWORD)], ids=str)
def test_every_endpoint_but_health_needs_credentials(
    serve: Serve, web: requests.Session, tmp_path: Path, auth: tuple[str, str] | None
) -> None:
    api, store = serve()
    add_call(store, tmp_path)
    for method, path in GUARDED:
        answer = web.request(method, api.url + path, auth=auth, json={})
        assert answer.status_code == 401, f"{method} {path}: {answer.status_code}"
        assert answer.headers["WWW-Authenticate"] == CHALLENGE
    assert store.get(NAME) is not None


def test_a_malformed_authorization_header_is_401(serve: Serve, web: requests.Session) -> None:
    api, _ = serve()
    answer = web.get(api.url + "/ari/recordings/stored", headers={"Authorization": "Basic %%%"})
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == CHALLENGE


def test_health_answers_without_credentials(serve: Serve, web: requests.Session) -> None:
    api, _ = serve()
    answer = web.get(api.url + "/reference/health")
    assert (answer.status_code, answer.json()) == (200, {"ok": True})


# -- ARI stored recordings -----------------------------------------------------------------
def test_list_get_file_and_delete_with_credentials(
    serve: Serve, web: requests.Session, tmp_path: Path
) -> None:
    api, store = serve()
    add_call(store, tmp_path)
    base = f"{api.url}/ari/recordings/stored"
    assert web.get(base, auth=AUTH).json() == [{"name": NAME, "format": "wav"}]
    assert web.get(f"{base}/{NAME}", auth=AUTH).json() == {"name": NAME, "format": "wav"}
    audio = web.get(f"{base}/{NAME}/file", auth=AUTH)
    assert audio.status_code == 200
    assert audio.headers["Content-Type"] == "audio/wav"
    assert int(audio.headers["Content-Length"]) == len(audio.content)
    assert audio.content == store.file_path(NAME).read_bytes()
    assert web.delete(f"{base}/{NAME}", auth=AUTH).status_code == 204
    assert web.get(base, auth=AUTH).json() == []
    assert not store.file_path(NAME).exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/ari/recordings/stored/rec-unknown"),
        ("GET", "/ari/recordings/stored/rec-unknown/file"),
        ("DELETE", "/ari/recordings/stored/rec-unknown"),
        ("GET", "/reference/recordings/rec-unknown"),
    ],
)
def test_an_unknown_recording_is_404_like_ari(
    serve: Serve, web: requests.Session, method: str, path: str
) -> None:
    api, _ = serve()
    answer = web.request(method, api.url + path, auth=AUTH)
    assert (answer.status_code, answer.json()) == (404, {"message": "Recording not found"})


TRAVERSALS = [
    "/ari/recordings/stored/../../etc/passwd",
    "/ari/recordings/stored/../../etc/passwd/file",
    "/ari/recordings/stored/..%2f..%2fetc%2fpasswd/file",
    "/ari/recordings/stored/..%2F..%2Fsecret/file",
    "/ari/recordings/stored/%2e%2e/file",
    "/ari/recordings/stored/%2e%2e",
    "/ari/recordings/stored/%2e%2e%2fsecret/file",
    "/ari/recordings/stored/%2fetc%2fpasswd/file",
    "/ari/recordings/stored//etc/passwd/file",
    "/ari/recordings/stored/%00secret/file",
    "/reference/recordings/..%2fsecret",
    "/reference/recordings/%2e%2e",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_never_reads_outside_files(serve: Serve, tmp_path: Path, path: str) -> None:
    api, store = serve()
    add_call(store, tmp_path)
    (store.root / "secret.wav").write_bytes(b"TOP-SECRET")
    status, body = raw_get(api, path)
    assert status in (400, 404), f"{path}: {status} {body[:80]!r}"
    assert b"TOP-SECRET" not in body and b"root:" not in body


def test_an_invalid_name_is_400(serve: Serve, web: requests.Session) -> None:
    api, _ = serve()
    answer = web.get(f"{api.url}/ari/recordings/stored/-dash", auth=AUTH)
    assert (answer.status_code, answer.json()) == (400, {"message": "Invalid recording name"})


# -- the platform's own endpoints ------------------------------------------------------------
def test_metadata_search_by_call_id_and_time(
    serve: Serve, web: requests.Session, tmp_path: Path
) -> None:
    api, store = serve()
    add_call(store, tmp_path)
    add_call(store, tmp_path, "second@host", hours=2)
    url = f"{api.url}/reference/recordings"
    found = web.get(url, params={"call_id": CALL_ID}, auth=AUTH).json()
    assert [r["name"] for r in found] == [NAME]
    assert found[0]["sha256"] == hashlib.sha256(store.file_path(NAME).read_bytes()).hexdigest()
    assert found[0]["duration_s"] == pytest.approx(1.0)
    window = {"since": "2025-03-01T10:00:00Z", "until": "2025-03-01T12:00:00Z"}
    assert [r["name"] for r in web.get(url, params=window, auth=AUTH).json()] == ["rec-second_host"]
    assert web.get(f"{url}/{NAME}", auth=AUTH).json() == found[0]
    bad = web.get(url, params={"since": "yesterday"}, auth=AUTH)
    assert bad.status_code == 400 and "since" in bad.json()["message"]


@pytest.mark.parametrize(("day", "kept"), [(182, True), (190, True), (191, False)])
def test_purge_at_the_offset_clock(
    serve: Serve, web: requests.Session, tmp_path: Path, day: int, kept: bool
) -> None:
    api, store = serve()
    add_call(store, tmp_path)
    retention = web.get(f"{api.url}/reference/retention", auth=AUTH).json()
    assert (retention["days"], retention["clock_offset_days"]) == (190, 0.0)
    moved = web.put(f"{api.url}/reference/clock", json={"offset_days": day}, auth=AUTH).json()
    assert moved["clock_offset_days"] == day
    assert moved["now_utc"] > (datetime.now(UTC) + timedelta(days=day - 1)).isoformat()
    purged = web.post(f"{api.url}/reference/purge", auth=AUTH).json()
    assert purged == {"purged": [] if kept else [NAME]}
    listed = web.get(f"{api.url}/ari/recordings/stored", auth=AUTH).json()
    assert bool(listed) is kept


def test_retention_can_be_changed_and_is_validated(serve: Serve, web: requests.Session) -> None:
    api, _ = serve()
    url = f"{api.url}/reference/retention"
    assert web.put(url, json={"days": 365}, auth=AUTH).json()["days"] == 365
    assert web.get(url, auth=AUTH).json()["days"] == 365
    assert web.put(url, json={"days": 0}, auth=AUTH).status_code == 400
    assert (
        web.put(f"{api.url}/reference/clock", json={"offset_days": "x"}, auth=AUTH).status_code
        == 400
    )


def test_faults_are_listed(serve: Serve, web: requests.Session) -> None:
    api, _ = serve("rec_altered", "retention_short")
    answer = web.get(f"{api.url}/reference/faults", auth=AUTH).json()
    assert answer == {"active": ["rec_altered", "retention_short"]}


# -- faults over the wire -----------------------------------------------------------------------
def test_fault_rec_unauthenticated_serves_recordings_without_credentials(
    serve: Serve, web: requests.Session, tmp_path: Path
) -> None:
    api, store = serve("rec_unauthenticated")
    add_call(store, tmp_path)
    base = f"{api.url}/ari/recordings/stored"
    assert web.get(base).json() == [{"name": NAME, "format": "wav"}]
    assert web.get(f"{base}/{NAME}").status_code == 200
    assert web.get(f"{base}/{NAME}/file").content == store.file_path(NAME).read_bytes()
    assert web.put(f"{api.url}/reference/clock", json={"offset_days": 1}).status_code == 401
    assert web.delete(f"{base}/{NAME}").status_code == 401
    assert web.get(f"{api.url}/reference/recordings").status_code == 401


def test_fault_retention_short_declares_90(serve: Serve, web: requests.Session) -> None:
    api, _ = serve("retention_short")
    assert web.get(f"{api.url}/reference/retention", auth=AUTH).json()["days"] == 90


def test_fault_retention_purges_early_at_day_31_while_declaring_190(
    serve: Serve, web: requests.Session, tmp_path: Path
) -> None:
    api, store = serve("retention_purges_early")
    add_call(store, tmp_path)
    web.put(f"{api.url}/reference/clock", json={"offset_days": 31}, auth=AUTH)
    assert web.get(f"{api.url}/reference/retention", auth=AUTH).json()["days"] == 190
    assert web.post(f"{api.url}/reference/purge", auth=AUTH).json() == {"purged": [NAME]}


def test_fault_rec_altered_download_differs_from_the_recorded_hash(
    serve: Serve, web: requests.Session, tmp_path: Path
) -> None:
    api, store = serve("rec_altered")
    add_call(store, tmp_path)
    row = web.get(f"{api.url}/reference/recordings/{NAME}", auth=AUTH).json()
    audio = web.get(f"{api.url}/ari/recordings/stored/{NAME}/file", auth=AUTH).content
    assert len(audio) == row["bytes"]
    assert hashlib.sha256(audio).hexdigest() != row["sha256"]


# -- secrets ----------------------------------------------------------------------------------
def test_the_password_never_reaches_the_log(
    serve: Serve, web: requests.Session, tmp_path: Path, log_text: io.StringIO
) -> None:
    api, store = serve()
    add_call(store, tmp_path)
    web.get(f"{api.url}/ari/recordings/stored/{NAME}/file", auth=AUTH)
    web.get(f"{api.url}/ari/recordings/stored", auth=(USER, PASSWORD + "x"))
    web.get(f"{api.url}/ari/recordings/stored", auth=("nobody", PASSWORD))
    web.put(f"{api.url}/reference/clock", json={"offset_days": 2}, auth=AUTH)
    api.stop()
    text = log_text.getvalue()
    assert "GET /ari/recordings/stored" in text and "401" in text  # the capture works
    assert PASSWORD not in text and TOKEN not in text and "Authorization" not in text


def test_the_log_filter_of_the_command_line_masks_the_password() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "login %s / %s", (PASSWORD, TOKEN), None
    )
    Redactor([PASSWORD, TOKEN]).filter(record)
    assert record.getMessage() == "login *** / ***"


def test_the_command_line_takes_the_password_from_the_environment(
    tmp_path: Path, web: requests.Session
) -> None:
    port = free_tcp_port()
    argv = [
        sys.executable,
        "-m",
        "fixtures.reference.api",
        "--root",
        str(tmp_path / "s"),
        "--port",
        str(port),
        "--user",
        USER,
        "--password-env",
        "REF_API_PW",
        "--fault",
        "retention_short",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "REF_API_PW": PASSWORD}
    server = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_health(web, url, server)
        assert PASSWORD not in Path(f"/proc/{server.pid}/cmdline").read_text()
        assert web.get(f"{url}/reference/retention", auth=AUTH).json()["days"] == 90
        assert web.get(f"{url}/reference/faults", auth=(USER, "bad")).status_code == 401
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0].decode()
    assert "reference API on" in output and "/reference/faults" in output
    assert PASSWORD not in output and TOKEN not in output


def wait_for_health(web: requests.Session, url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the API exited with {server.returncode}"
        try:
            if web.get(f"{url}/reference/health", timeout=1).ok:
                return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise AssertionError(f"{url}/reference/health did not answer within 15 s")


def test_the_command_line_refuses_a_missing_password_variable(tmp_path: Path) -> None:
    argv = [
        sys.executable,
        "-m",
        "fixtures.reference.api",
        "--root",
        str(tmp_path),
        "--user",
        USER,
        "--password-env",
        "REF_API_UNSET_PW",
    ]
    env = {k: v for k, v in os.environ.items() if k != "REF_API_UNSET_PW"}
    done = subprocess.run(
        argv,
        check=False,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "REF_API_UNSET_PW" in done.stderr
