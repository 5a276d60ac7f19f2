"""The generic HTTP adapter over real sockets on 127.0.0.1, against an API shaped unlike ARI.

The recorder API served here (stdlib ``http.server`` in a thread) is the one
``fixtures/targets/http.example.yaml`` describes: records nested under
``data.records`` with ``recId``, ``sip.callId``, ``timing.startTs``/``endTs`` in
epoch seconds and ``media.href``/``bytes``/``sha256``; two records a page,
linked by ``data.nextPage``; ``/settings/storage`` for the retention policy; a
file store on a second server (another origin) that the media links redirect
to, as a pre-signed storage URL would be.  It asks for HTTP Basic, a bearer
token or an API key, as each test sets, and serves real WAV files.

Neither server raises into pytest: failures are kept and re-raised by the
fixture when the test ends.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from harness.errors import ProfileError, TargetError
from harness.targets.adapter import NotSupported, Platform
from harness.targets.generic_http import HttpPlatform
from harness.targets.model import Secret, Target
from harness.targets.profile import load_target
from harness.targets.registry import adapter_for
from tests.ports import free_tcp_port
from tests.targets.recording_check import check_found, recording, retention_source

SECRET, ENV = "Http-t3st-secret-9x", "CC_TEST_HTTP_SECRET"
CALL = "kZ1OhsT50pM8b0G7QaFAJzepOzIH5gOR"
NOW = datetime.now(UTC).replace(microsecond=0)
WINDOW = (NOW - timedelta(minutes=10), NOW + timedelta(minutes=10))
EXAMPLE = Path(__file__).parents[2] / "fixtures" / "targets" / "http.example.yaml"
AUTHS = {"basic": {"kind": "basic", "username": "harness", "password": Secret(ENV)},
         "bearer": {"kind": "bearer", "token": Secret(ENV)},
         "api_key": {"kind": "api_key", "header": "X-Api-Key", "api_key": Secret(ENV)}}
FIELDS = {"name": "recId", "call_id": "sip.callId", "started": "timing.startTs",
          "ended": "timing.endTs", "size": "media.bytes", "sha256": "media.sha256",
          "download_url": "media.href"}


@dataclass
class Record:
    rec_id: str
    call_id: str | None
    started: datetime
    file: Path
    raw: dict[str, Any] | None = None  # served instead of the usual shape
    href: str = ""  # its download link, if not the API's media URL

    def json(self) -> dict[str, Any]:
        if self.raw is not None:
            return self.raw
        body = self.file.read_bytes()
        return {"recId": self.rec_id, "sip": {"callId": self.call_id},
                "timing": {"startTs": int(self.started.timestamp()),
                           "endTs": int(self.started.timestamp()) + 2},
                "media": {"bytes": len(body), "sha256": hashlib.sha256(body).hexdigest(),
                          "href": self.href or f"/api/v2/media/{self.rec_id}.wav"}}


@dataclass
class Recorder:
    """What the API holds and how it is set: its records, the auth it asks for, what it saw."""

    records: list[Record] = field(default_factory=list)
    auth: str = "basic"
    echo_secret: bool = False  # a careless API that repeats the rejected credential
    files_url: str = ""  # where media links redirect to; "" serves them here
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def authorised(self, headers: Any) -> str | None:
        """None if the request carries the credentials; else what it carried."""
        wanted = {"basic": ("Authorization", "Basic " + base64.b64encode(
                      f"harness:{SECRET}".encode()).decode()),
                  "bearer": ("Authorization", f"Bearer {SECRET}"),
                  "api_key": ("X-Api-Key", SECRET)}[self.auth]
        given = headers.get(wanted[0]) or ""
        return None if given == wanted[1] else given


class RecorderHandler(http.server.BaseHTTPRequestHandler):
    server: RecorderServer

    def do_GET(self) -> None:
        api = self.server.api
        try:
            api.seen.append((self.path, dict(self.headers)))
            self._route(api)
        except Exception as exc:  # noqa: BLE001 -- kept for the test thread; the client sees a 500
            api.errors.append(exc)
            self._json(500, {"code": 500, "msg": "test server failed"})

    def _route(self, api: Recorder) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path.startswith("/files/"):  # the other origin: a pre-signed URL needs no auth
            return self._file(api, url.path.removeprefix("/files/"))
        given = api.authorised(self.headers)
        if given is not None:
            said = f"invalid credentials {given}" if api.echo_secret else "invalid credentials"
            return self._json(401, {"code": 401, "msg": said})
        parts = url.path.split("/")[1:]
        if parts[:3] == ["api", "v2", "recordings"] and len(parts) == 3:
            return self._list(api, query)
        if parts[:3] == ["api", "v2", "recordings"] and len(parts) == 4:
            found = [r for r in api.records if r.rec_id == parts[3]]
            if not found:
                return self._json(404, {"code": 404, "msg": "no such recording"})
            return self._json(200, {"code": 0, "data": found[0].json()})
        if parts[:3] == ["api", "v2", "media"] and len(parts) == 4:
            if api.files_url:
                return self._send(302, b"", {"Location": f"{api.files_url}/files/{parts[3]}?sig=x"})
            return self._file(api, parts[3])
        if url.path == "/api/v2/settings/storage":
            return self._json(200, {"recording": {"keepDays": 190}})
        return self._json(404, {"code": 404, "msg": "no such resource"})

    def _list(self, api: Recorder, query: dict[str, str]) -> None:
        rows = [r for r in api.records
                if ("callId" not in query or r.call_id == query["callId"])
                and ("from" not in query or int(query["from"]) <= r.started.timestamp())
                and ("to" not in query or r.started.timestamp() < int(query["to"]))]
        page = int(query.get("page", "1"))
        rest = "&".join(f"{k}={v}" for k, v in query.items() if k != "page")
        more = f"/api/v2/recordings?{rest}&page={page + 1}" if len(rows) > 2 * page else None
        self._json(200, {"code": 0, "data": {"records": [r.json() for r in
                                                         rows[2 * page - 2: 2 * page]],
                                             "nextPage": more}})

    def _file(self, api: Recorder, name: str) -> None:
        found = [r for r in api.records if f"{r.rec_id}.wav" == name]
        if not found:
            return self._json(404, {"code": 404, "msg": "no such file"})
        self._send(200, found[0].file.read_bytes(), {"Content-Type": "audio/wav"})

    def _json(self, status: int, body: Any) -> None:
        self._send(status, json.dumps(body).encode(), {"Content-Type": "application/json"})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class RecorderServer(http.server.ThreadingHTTPServer):
    def __init__(self, api: Recorder) -> None:
        super().__init__(("127.0.0.1", 0), RecorderHandler)
        self.api = api

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Recorder, str]]:
    """The recorder API: its state, and its base URL."""
    monkeypatch.setenv(ENV, SECRET)
    state = Recorder()
    server = RecorderServer(state)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield state, server.url
    server.shutdown()
    server.server_close()
    if state.errors:
        raise state.errors[0]


def files_origin(state: Recorder, api_url: str) -> None:
    """Media links redirect to the file store at another origin (the same server by another
    name: localhost rather than 127.0.0.1)."""
    state.files_url = api_url.replace("127.0.0.1", "localhost")


def target(url: str, auth: str | None = "basic", **recordings: Any) -> Target:
    spec: dict[str, Any] = {
        "list": "/recordings?from={since}&to={until}",
        "search": "/recordings?callId={call_id}&from={since}&to={until}",
        "metadata": "/recordings/{name}", "items": "data.records", "item": "data",
        "next": "data.nextPage", "times": "epoch", "fields": dict(FIELDS)}
    spec.update(recordings)
    adapter: dict[str, Any] = {"type": "http", "url": f"{url}/api/v2", "recordings": spec,
                               "retention": {"url": "/settings/storage", "days": "recording.keepDays"},
                               "timeout": 5}
    if auth is not None:
        adapter["auth"] = AUTHS[auth]
    return Target(name="t", path=Path("/profiles/http.yaml"), host="127.0.0.1", port=5060,
                  transport="udp", domain="127.0.0.1", outbound_proxy=None, managed="none",
                  dids={}, accounts={}, prompts=None, adapter=adapter)


def add(state: Recorder, folder: Path, rec_id: str, call_id: str | None, ago_s: float,
        marker_of: str = "someone-else") -> Record:
    rec = Record(rec_id, call_id, NOW - timedelta(seconds=ago_s),
                 recording(folder / f"{rec_id}.wav", marker_of))
    state.records.append(rec)
    return rec


# -- the adapter ----------------------------------------------------------------------------
def test_the_adapter_is_chosen_by_type_and_hides_its_secret(api: tuple[Recorder, str]) -> None:
    platform = adapter_for(target(api[1], "bearer"))
    assert isinstance(platform, HttpPlatform) and isinstance(platform, Platform)
    assert SECRET not in repr(platform) and f"${{ENV:{ENV}}}" in repr(platform)


@pytest.mark.parametrize("kind", ["basic", "bearer", "api_key"])
def test_each_auth_kind_finds_reads_and_downloads_the_calls_recording(
        api: tuple[Recorder, str], tmp_path: Path, kind: str) -> None:
    state, url = api
    state.auth = kind
    mine = add(state, tmp_path / "store", "r-0002", CALL, 30, CALL)
    add(state, tmp_path / "store", "r-0001", "another-call", 60)
    platform = adapter_for(target(url, kind))
    found = platform.find_recordings(CALL, *WINDOW)
    assert [(r.name, r.call_id, r.format) for r in found] == [("r-0002", CALL, "wav")]
    info = found[0]
    assert (info.started_utc, info.duration_s) == (mine.started, 2.0)
    assert info.size == mine.file.stat().st_size and info.sha256 == mine.json()["media"]["sha256"]
    assert platform.fetch(info, tmp_path).read_bytes() == mine.file.read_bytes()
    assert platform.get_recording("r-0002") == info
    assert platform.fetch_unauthenticated(info) == 401
    assert platform.retention_days() == 190
    assert state.seen[0][0].startswith(f"/api/v2/recordings?callId={CALL}&from=")


@pytest.mark.parametrize("kind", ["basic", "bearer", "api_key"])
def test_wrong_credentials_name_the_url_status_and_variable_never_the_secret(
        api: tuple[Recorder, str], monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    state, url = api
    state.auth, state.echo_secret = kind, True
    monkeypatch.setenv(ENV, "not-the-Secret-123")
    with pytest.raises(TargetError) as caught:
        adapter_for(target(url, kind)).find_recordings(CALL, *WINDOW)
    text = str(caught.value)
    assert text.startswith(f"HTTP recording API at {url}/api/v2 refused ")
    assert f"GET {url}/api/v2/recordings?callId={CALL}&from=" in text
    assert "answered 401 Unauthorized: invalid credentials" in text and ENV in text
    assert "not-the-Secret-123" not in text and SECRET not in text
    assert "***" in text  # the API echoed what it was sent; it is blanked


def test_without_a_call_id_field_the_window_comes_untied_page_after_page(
        api: tuple[Recorder, str], tmp_path: Path) -> None:
    state, url = api
    for i, ago in enumerate((50, 40, 30, 20, 10)):
        add(state, tmp_path, f"r-{i}", None, ago)
    add(state, tmp_path, "r-old", None, 3 * 3600)
    fields = {k: v for k, v in FIELDS.items() if k != "call_id"}
    platform = adapter_for(target(url, search=None, fields=fields))
    found = platform.find_recordings(CALL, *WINDOW)
    assert [(r.name, r.call_id) for r in found] == [(f"r-{i}", None) for i in range(5)]
    assert sum(1 for p, _ in state.seen if "page=" in p) == 2  # three pages of two
    assert not any("callId" in p for p, _ in state.seen)  # no search template: the list
    ignoring = adapter_for(target(url, list="/recordings", fields=fields))  # no window in the URL
    assert [r.name for r in ignoring.find_recordings(None, *WINDOW)] == [f"r-{i}" for i in range(5)]


def test_times_are_written_as_the_profile_says(api: tuple[Recorder, str]) -> None:
    state, url = api
    shanghai = adapter_for(target(url, times="iso", timezone="Asia/Shanghai", search=None,
                                  list="/recordings?since={since}&callId=x"))
    shanghai.find_recordings(None, *WINDOW)
    local = WINDOW[0].astimezone(ZoneInfo("Asia/Shanghai")).isoformat(timespec="seconds")
    assert f"since={local.replace(':', '%3A').replace('+', '%2B')}" in state.seen[-1][0]
    adapter_for(target(url, times="epoch_ms", search=None,
                       list="/recordings?since={since}&callId=x")).find_recordings(None, *WINDOW)
    assert f"since={int(WINDOW[0].timestamp()) * 1000}&" in state.seen[-1][0]


def test_credentials_never_follow_a_link_to_another_origin(api: tuple[Recorder, str],
                                                           tmp_path: Path) -> None:
    state, url = api
    files_origin(state, url)
    rec = add(state, tmp_path / "store", "r-7", CALL, 20, CALL)
    state.auth = "bearer"
    platform = adapter_for(target(url, "bearer"))
    found = platform.find_recordings(CALL, *WINDOW)
    assert platform.fetch(found[0], tmp_path).read_bytes() == rec.file.read_bytes()
    assert platform.fetch_unauthenticated(found[0]) == 401  # the API asks before it redirects
    to_files = [h for p, h in state.seen if p.startswith("/files/")]
    assert to_files and all("Authorization" not in h for h in to_files)
    rec.href = f"{state.files_url}/files/r-7.wav?sig=x"  # a signed link straight to the store
    signed = adapter_for(target(url, "bearer"))
    found = signed.find_recordings(CALL, *WINDOW)
    (tmp_path / "signed").mkdir()
    assert signed.fetch(found[0], tmp_path / "signed").read_bytes() == rec.file.read_bytes()
    before = len(state.seen)
    assert signed.fetch_unauthenticated(found[0]) == 401  # the API call that hands out the link
    assert [p for p, _ in state.seen[before:]] == ["/api/v2/recordings/r-7"]
    assert all("Authorization" not in h for p, h in state.seen if p.startswith("/files/"))


def test_a_missing_recording_is_none_and_its_download_a_404(api: tuple[Recorder, str],
                                                            tmp_path: Path) -> None:
    state, url = api
    add(state, tmp_path, "r-1", CALL, 20, CALL)
    platform = adapter_for(target(url))
    assert platform.get_recording("r-404") is None
    found = platform.get_recording("r-1")
    assert found is not None
    state.records.clear()
    with pytest.raises(TargetError, match=rf"GET {url}/api/v2/media/r-1.wav answered 404 Not "
                                          r"Found: no such file"):
        platform.fetch(found, tmp_path)


def test_an_answer_of_another_shape_names_the_path_and_what_is_there(api: tuple[Recorder, str],
                                                                     tmp_path: Path) -> None:
    state, url = api
    add(state, tmp_path, "r-1", CALL, 20, CALL)
    with pytest.raises(TargetError) as caught:
        adapter_for(target(url, items="data.items")).find_recordings(CALL, *WINDOW)
    assert "has no 'data.items' (no key 'items' there; its keys: 'records', 'nextPage')" in \
        str(caught.value) and "adapter.recordings.items in /profiles/http.yaml" in str(caught.value)
    state.records[0].raw = {"recId": "r-1", "timing": {"start": "soon"}}
    fields = {**FIELDS, "started": "timing.start"}
    with pytest.raises(TargetError, match=r"fields.started \('timing.start'\): 'soon' is neither "
                                          r"ISO 8601 nor seconds since 1970"):
        adapter_for(target(url, fields=fields)).find_recordings(CALL, *WINDOW)


def test_retention_without_a_url_is_the_profiles_word(api: tuple[Recorder, str]) -> None:
    profile = target(api[1])
    profile = Target(**{**profile.__dict__, "adapter": {**{k: v for k, v in profile.adapter.items()
                                                         if k != "retention"}, "retention_days": 190}})
    platform = adapter_for(profile)
    assert platform.retention_days() is None
    assert retention_source(profile, platform) == (190, "adapter.retention_days in /profiles/http.yaml")
    with pytest.raises(NotSupported, match="cannot move its clock"):
        platform.set_clock_offset(191)
    with pytest.raises(NotSupported):
        platform.purge()
    assert platform.queue_state() is None


def test_nothing_listening_or_no_answer_names_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, SECRET)
    url = f"http://127.0.0.1:{free_tcp_port()}"
    with pytest.raises(TargetError, match=rf"cannot connect to {url}/api/v2/recordings/r-1: "
                                          r"connection refused \(hint: is the API running"):
        adapter_for(target(url)).get_recording("r-1")
    with socket.create_server(("127.0.0.1", 0)) as mute:  # accepts, never answers
        url = f"http://127.0.0.1:{mute.getsockname()[1]}"
        profile = target(url)
        profile = Target(**{**profile.__dict__, "adapter": {**profile.adapter, "timeout": 0.3}})
        with pytest.raises(TargetError, match=rf"GET {url}/api/v2/settings/storage got no answer "
                                              r"within 0.3s"):
            adapter_for(profile).retention_days()


# -- the recording check through this adapter ------------------------------------------------
def test_a_recording_found_by_call_id_passes_the_recording_check(api: tuple[Recorder, str],
                                                                 tmp_path: Path) -> None:
    state, url = api
    add(state, tmp_path / "store", "r-1", CALL, 20, CALL)
    add(state, tmp_path / "store", "r-2", "another-call", 10)
    verdict = check_found(adapter_for(target(url)), CALL, tmp_path / "work", now=NOW)
    assert verdict.found_by == "SIP Call-ID" and verdict.name == "r-1"
    assert verdict.problems == [] and verdict.figures["unauthenticated_status"] == 401
    assert verdict.figures["platform_sha256"] == verdict.figures["sha256"]


def test_a_recording_the_api_cannot_tie_is_proven_by_its_marker(api: tuple[Recorder, str],
                                                                tmp_path: Path) -> None:
    state, url = api
    for rec_id, ago, whose in (("r-1", 50, "earlier"), ("r-2", 40, CALL), ("r-3", 30, "later")):
        add(state, tmp_path / "store", rec_id, None, ago, whose)
    fields = {k: v for k, v in FIELDS.items() if k != "call_id"}
    verdict = check_found(adapter_for(target(url, search=None, fields=fields)), CALL,
                          tmp_path / "work", now=NOW)
    assert (verdict.found_by, verdict.name, verdict.problems) == ("time window and marker", "r-2", [])


# -- profiles -------------------------------------------------------------------------------
def test_the_example_profile_loads_and_builds_the_adapter() -> None:
    platform = adapter_for(load_target(EXAMPLE))
    assert isinstance(platform, HttpPlatform) and platform.auth.kind == "bearer"
    assert platform.endpoints.search is not None and platform.retention is not None


def test_a_bad_http_adapter_section_is_reported_at_load_with_file_and_line(tmp_path: Path) -> None:
    profile = tmp_path / "bad.yaml"
    profile.write_text(
        "name: bad\nplatform: {host: 127.0.0.1}\nadapter:\n  type: http\n"
        "  url: http://127.0.0.1:8080\n  auth: {kind: bearer, token: hunter2-literal}\n"
        "  recording:\n    list: /r\n"
        "  retention: {url: /policy}\n", encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_target(profile)
    text = str(caught.value)
    assert f"{profile}:7:3: adapter.recording: not a field of the http adapter" in text
    assert "did you mean 'recordings'?" in text
    assert "adapter: missing required field 'recordings'" in text
    assert f"{profile}:6:" in text and "adapter.auth.token: a literal token is not allowed" in text
    assert "adapter.retention: missing required field 'days'" in text
    assert "hunter2" not in text
    profile.write_text(
        "name: bad\nplatform: {host: 127.0.0.1}\nadapter:\n  type: http\n"
        "  url: http://127.0.0.1:8080\n  auth: {kind: basic, username: u}\n  recordings:\n"
        "    list: /r?at={when}\n    search: /r?from={since}\n    metadata: /r/{name}\n"
        "    fields: {name: id, callid: x}\n", encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_target(profile)
    text = str(caught.value)
    assert "adapter.auth: missing required field 'password'" in text
    assert f"{profile}:8:5: adapter.recordings.list: the list template may use" in text
    assert "adapter.recordings.search: the search template must use {call_id}" in text
    assert f"{profile}:11:24: adapter.recordings.fields.callid: unknown field 'callid'" in text
    assert "did you mean 'call_id'?" in text
