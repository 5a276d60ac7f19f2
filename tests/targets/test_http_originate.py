"""Click-to-call through a platform's own HTTP API (``adapter.originate`` of ``type: http``), over a real
socket on 127.0.0.1: the request the profile describes is sent as described, with credentials only to
the hosts the profile names; a refusal says what the API answered and what to check (issue 16)."""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.errors import TargetError
from harness.targets.capability import Capability
from harness.targets.generic_http import HttpPlatform
from harness.targets.model import Secret, Target
from harness.targets.registry import adapter_for, capabilities

pytestmark = pytest.mark.unit

SECRET, ENV = "Orig-t3st-token-7q", "CC_TEST_ORIGINATE_TOKEN"


class Api(http.server.ThreadingHTTPServer):
    seen: list[tuple[str, str, dict[str, str], Any]]
    status: int = 201


class Handler(http.server.BaseHTTPRequestHandler):
    server: Api

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.server.seen.append((self.command, self.path, dict(self.headers), body))
        status = self.server.status
        payload = {"data": {"callId": "c-42"}} if status < 300 else {"error": f"token {SECRET} not allowed here"}
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_POST = do_PUT = do_GET = _answer

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[Api]:
    server = Api(("127.0.0.1", 0), Handler)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def target(url: str, originate: dict[str, Any] | None) -> Target:
    adapter: dict[str, Any] = {
        "type": "http", "url": f"{url}/api", "timeout": 5,
        "auth": {"kind": "bearer", "token": Secret(ENV)},
        "recordings": {"list": "/recordings?from={since}&to={until}", "metadata": "/recordings/{name}",
                       "fields": {"name": "id"}}}
    if originate is not None:
        adapter["originate"] = originate
    return Target(name="t", path=Path("/profiles/http.yaml"), host="127.0.0.1", port=5060, transport="udp",
                  domain="127.0.0.1", outbound_proxy=None, managed="none", dids={}, accounts={},
                  prompts=None, adapter=adapter)


ORIGINATE = {"url": "/calls/{agent}/click-to-call", "body": {"callee": "{number}", "meta": ["{agent}", 3]},
             "id": "data.callId"}


def test_the_described_request_is_sent_with_its_placeholders_and_the_id_read_back(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, SECRET)
    t = target(f"http://127.0.0.1:{api.server_address[1]}", ORIGINATE)
    assert Capability.ORIGINATE in capabilities(t)
    platform = adapter_for(t)
    assert isinstance(platform, HttpPlatform)
    assert platform.originate("2001", "13800138000") == "c-42"
    [(method, path, headers, body)] = api.seen
    assert (method, path) == ("POST", "/api/calls/2001/click-to-call")
    assert headers["Authorization"] == f"Bearer {SECRET}"
    assert body == {"callee": "13800138000", "meta": ["2001", 3]}


def test_a_refusal_names_the_status_blanks_the_secret_and_says_what_to_check(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, SECRET)
    api.status = 403
    platform = adapter_for(target(f"http://127.0.0.1:{api.server_address[1]}", ORIGINATE))
    with pytest.raises(TargetError) as err:
        platform.originate("2001", "13800138000")  # type: ignore[attr-defined]
    text = str(err.value)
    assert "refused to start the call: POST http://127.0.0.1:" in text and "answered 403 Forbidden" in text, text
    assert "hint: check the bearer token in environment variable CC_TEST_ORIGINATE_TOKEN" in text, text
    assert SECRET not in text


def test_an_unreachable_api_and_a_profile_without_the_request_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, SECRET)
    with pytest.raises(TargetError, match=re.escape("cannot connect for POST http://127.0.0.1:9/api/calls/2001")):
        adapter_for(target("http://127.0.0.1:9", ORIGINATE)).originate("2001", "1380")  # type: ignore[attr-defined]
    t = target("http://127.0.0.1:9", None)
    assert Capability.ORIGINATE not in capabilities(t)


@pytest.mark.parametrize(("originate", "words"), [
    ({"url": "/calls", "body": {"callee": "{customer}"}}, "{customer} is not a placeholder here"),
    ({"url": "/calls", "body": {"agent": "{agent}"}}, "never says which number to call"),
    ({"url": "/calls/{number}", "method": "DELETE"}, "method must be one of POST, PUT, GET"),
])
def test_a_request_that_cannot_work_is_refused_with_the_field(originate: dict[str, Any], words: str) -> None:
    with pytest.raises(TargetError, match=re.escape("adapter.originate")) as err:
        adapter_for(target("http://127.0.0.1:9", originate))
    assert words in str(err.value), err.value
