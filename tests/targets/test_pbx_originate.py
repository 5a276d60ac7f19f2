"""Click-to-call on Asterisk (ARI ``POST /ari/channels``) and FreeSWITCH (``bgapi originate``), over real
sockets on 127.0.0.1 (issue 16).

No Asterisk answered an originate for the captured transcripts, so the fake ARI here answers as ARI's
documentation (channels.json: ``Channel`` on 200, ``{"message": ...}`` on 400) with the headers a real
Asterisk 22 sent (``tests/data/asterisk22/ari``); the FreeSWITCH reply is the bytes mod_event_socket.c
writes for ``bgapi`` (``tests/data/freeswitch/README.md``). What is checked is what the adapters send --
the request a PBX would act on, with the agent's endpoint, the customer's number and the context the
profile names -- and what they make of each answer.
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from harness.errors import TargetError
from harness.targets.adapter import NotSupported, Originating
from harness.targets.capability import Capability
from harness.targets.model import Outbound, Trunk
from harness.targets.registry import adapter_for, capabilities
from tests.targets import test_asterisk_adapter as ast
from tests.targets import test_freeswitch_adapter as fs

pytestmark = pytest.mark.unit

HEAD = (Path(__file__).parents[1] / "data" / "asterisk22" / "ari" / "ari-21-recording-exists.response.http"
        ).read_bytes().split(b"\r\n\r\n")[0].split(b"\r\n")[1:]  # Server, Date, Cache-Control, Content-type
CHANNEL = {"id": "1733400000.42", "name": "PJSIP/2001-0000002a", "state": "Down", "protocol_id": "",
           "caller": {"name": "13800138000", "number": "13800138000"}, "connected": {"name": "", "number": ""},
           "accountcode": "", "dialplan": {"context": "from-agents", "exten": "913800138000", "priority": 1,
                                           "app_name": "", "app_data": ""},
           "creationtime": "2026-12-05T10:00:00.000+0000", "language": "en"}
OUTBOUND = Outbound(Trunk("127.0.0.1", 5190), caller_id="01062345678", dial_prefix="9")


class Ari(http.server.ThreadingHTTPServer):
    seen: list[tuple[str, str, dict[str, list[str]], str | None]]
    answer: tuple[int, str, dict[str, Any]] = (200, "OK", CHANNEL)


class Handler(http.server.BaseHTTPRequestHandler):
    server: Ari
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        auth = self.headers.get("Authorization")
        user = base64.b64decode(auth.split(" ", 1)[1]).decode() if auth else None
        self.server.seen.append((self.command, url.path, parse_qs(url.query), user))
        status, reason, body = self.server.answer
        data = json.dumps(body, indent=2).encode()
        self.wfile.write(f"HTTP/1.1 {status} {reason}\r\n".encode() + b"\r\n".join(
            h for h in HEAD if not h.lower().startswith(b"content-length")) +
            f"\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def ari(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ari]:
    monkeypatch.setenv(ast.ARI_ENV, ast.ARI_PASSWORD)
    server = Ari(("127.0.0.1", 0), Handler)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def _asterisk(server: Ari, **originate: Any) -> Any:
    extra = {"originate": originate} if originate else {}
    return replace(ast.target(f"http://127.0.0.1:{server.server_address[1]}", **extra), outbound=OUTBOUND)


def test_ari_rings_the_agent_s_endpoint_and_goes_on_in_the_profile_s_context(ari: Ari) -> None:
    target = _asterisk(ari, context="from-agents")
    assert Capability.ORIGINATE in capabilities(target)
    platform = adapter_for(target)
    assert isinstance(platform, Originating)
    assert platform.originate("2001", "13800138000") == "1733400000.42"
    [(method, path, params, user)] = ari.seen
    assert (method, path, user) == ("POST", "/ari/channels", f"{ast.ARI_USER}:{ast.ARI_PASSWORD}")
    assert params == {"endpoint": ["PJSIP/2001"], "extension": ["913800138000"], "context": ["from-agents"],
                      "priority": ["1"], "timeout": ["30"], "callerId": ['"13800138000" <13800138000>']}


def test_ari_endpoint_extension_and_ring_time_follow_the_profile(ari: Ari) -> None:
    platform = adapter_for(_asterisk(ari, context="cc-out", endpoint="PJSIP/agent-{agent}",
                                     extension="{number}", ring_timeout=20))
    platform.originate("2002", "13900139000")
    params = ari.seen[0][2]
    assert (params["endpoint"], params["extension"], params["timeout"]) == (
        ["PJSIP/agent-2002"], ["13900139000"], ["20"])


@pytest.mark.parametrize(("answer", "words"), [
    ((400, "Bad Request", {"message": "Endpoint parameter is required"}),
     "POST /ari/channels answered 400 Bad Request"),
    ((403, "Forbidden", {"message": "Forbidden"}), "needs an ari.conf user with read_only = no"),
    ((200, "OK", {"name": "no id"}), "answered without a channel id"),
])
def test_ari_refusals_say_what_asterisk_answered(ari: Ari, answer: tuple[int, str, dict[str, Any]],
                                                  words: str) -> None:
    ari.answer = answer
    with pytest.raises(TargetError) as caught:
        adapter_for(_asterisk(ari, context="from-agents")).originate("2001", "13800138000")
    assert words in str(caught.value), caught.value
    assert ast.ARI_PASSWORD not in str(caught.value)


def test_without_adapter_originate_asterisk_cannot_originate(ari: Ari) -> None:
    target = _asterisk(ari)
    assert Capability.ORIGINATE not in capabilities(target)
    with pytest.raises(NotSupported) as caught:
        adapter_for(target).originate("2001", "13800138000")
    assert "adapter.originate: {context: ...}" in str(caught.value)
    assert ari.seen == []


def test_a_dial_string_that_could_change_the_command_is_refused(ari: Ari) -> None:
    with pytest.raises(TargetError) as caught:
        adapter_for(_asterisk(ari, context="from-agents")).originate("2001 & evil", "13800138000")
    assert "holds characters a dial string cannot" in str(caught.value)
    assert ari.seen == []
    with pytest.raises(TargetError) as unknown:
        adapter_for(_asterisk(ari, context="x", extension="{customer}"))
    assert "{customer} is not a placeholder here" in str(unknown.value)


def test_freeswitch_originates_in_the_background_and_names_the_job(esl: Any) -> None:
    server = esl()
    target = replace(fs.target(server.port, originate={"context": "default"}), outbound=OUTBOUND)
    assert Capability.ORIGINATE in capabilities(target)
    platform = adapter_for(target)
    assert isinstance(platform, Originating)
    assert platform.originate("2001", "13800138000") == "5f0c2e8a-1d3b-4c77-9a51-3b8e2d7f6a10"
    [command] = [c for c in server.commands if c.startswith("bgapi ")]
    assert command == ("bgapi originate {origination_caller_id_number=13800138000,origination_caller_id_name="
                       "13800138000,originate_timeout=30}user/2001 913800138000 XML default")
    assert not any(c.startswith("api ") for c in server.commands)  # nothing waits for the call itself


def test_freeswitch_without_adapter_originate_cannot_originate(esl: Any) -> None:
    server = esl(replies={})
    plain = replace(fs.target(server.port), outbound=OUTBOUND)
    assert Capability.ORIGINATE not in capabilities(plain)
    with pytest.raises(TargetError) as caught:
        adapter_for(plain).originate("2001", "13800138000")
    assert "adapter.originate: {context: ...}" in str(caught.value)


esl = fs.esl  # the fake event socket's fixture
