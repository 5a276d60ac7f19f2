"""What ``ccharness watch`` calls when a verdict changes: a webhook, a command, or both.

Each event is one JSON object (``Event.body``). A webhook gets a POST of
``{"events": [...]}`` per round; a command gets the same JSON on its standard
input and the round's first event in ``CCHARNESS_EVENT`` (its JSON). Every call has a
deadline, and a hook that fails is reported on a line of its own and never
stops the watch. A webhook URL often carries a token: the lines name only its
scheme, host and port.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

WEBHOOK_TIMEOUT = 10.0
COMMAND_TIMEOUT = 60.0


@dataclass(frozen=True)
class Event:
    """One change a round found: ``kind`` is verdict_changed, round_error, drift, drift_gone or
    drift_error."""

    kind: str
    line: str  # what the watch prints
    details: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"event": self.kind, "summary": self.line, **self.details}


def shown_url(url: str) -> str:
    """``https://hooks.example:8443/...``: a URL without its user, path and query (where tokens sit)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "") + ("/..." if parts.path else "")


class Webhook:
    """POSTs a round's events as JSON to ``url``."""

    def __init__(self, url: str, timeout: float = WEBHOOK_TIMEOUT) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--hook-url {shown_url(url)}: not an http(s) URL with a host")
        self.url = url
        self.timeout = timeout

    def __str__(self) -> str:
        return f"webhook {shown_url(self.url)}"

    def call(self, events: Sequence[Event], context: dict[str, Any]) -> str:
        """Deliver; what happened, as a line."""
        try:
            answer = requests.post(self.url, json={**context, "events": [e.body() for e in events]},
                                   timeout=self.timeout)
        except requests.RequestException as exc:
            return f"{self} FAILED: {type(exc).__name__} (no answer within {self.timeout:g}s or refused)"
        verdict = "ok" if answer.ok else "FAILED"
        return f"{self} {verdict}: HTTP {answer.status_code} for {len(events)} event(s)"


class Command:
    """Runs the user's command with the events as JSON on standard input."""

    def __init__(self, command: str, timeout: float = COMMAND_TIMEOUT) -> None:
        self.argv = shlex.split(command)
        if not self.argv:
            raise ValueError("--hook-command: empty")
        self.timeout = timeout

    def __str__(self) -> str:
        return f"command {self.argv[0]}"

    def call(self, events: Sequence[Event], context: dict[str, Any]) -> str:
        body = json.dumps({**context, "events": [e.body() for e in events]}, ensure_ascii=False)
        env = {**os.environ, "CCHARNESS_EVENT": json.dumps(events[0].body(), ensure_ascii=False),
               "CCHARNESS_EVENTS": str(len(events))}
        try:
            # its own session: the terminal's Ctrl-C, meant for the watch, does not cut a delivery short
            done = subprocess.run(self.argv, input=body, text=True, capture_output=True, env=env,
                                  timeout=self.timeout, check=False, start_new_session=True)
        except subprocess.TimeoutExpired:
            return f"{self} FAILED: still running after {self.timeout:g}s, killed"
        except OSError as exc:
            return f"{self} FAILED: {exc.strerror or exc}"
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or [""])[-1][:200]
            return f"{self} FAILED: exit {done.returncode}" + (f": {tail}" if tail else "")
        return f"{self} ok for {len(events)} event(s)"
