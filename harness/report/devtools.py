"""A page's console errors, read over Chromium's DevTools protocol on a pipe.

Chromium's ``--enable-logging=stderr`` logs every console message of a web page as
``INFO:CONSOLE``, whatever its level, so the messages are read through the DevTools protocol
instead, over ``--remote-debugging-pipe``: no port is opened, and nothing but Debian's
chromium is needed.  A maintained driver was weighed and not taken: Playwright runs its own
Node.js driver and supports only the browser builds it downloads itself (which this project's
machines cannot fetch), and Selenium's console log is Chrome-specific and lossy.  The client is
the three calls the check needs (create a page, enable three domains, navigate) and the
NUL-framed JSON the pipe carries.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.report.chromium import CLOSE_S, chromium, end_process_group, flags, require_file, stderr_tail

_SETTLE_S = 0.5  # after the load event, how long late console errors (timers, promises) may come


def console_errors(html: Path, timeout: float = 120.0) -> list[str]:
    """Load the local HTML file ``html`` and return its console errors, in the order they came.

    Covers uncaught exceptions and rejections (``Uncaught Error: boom (file:///r.html:12)``),
    ``console.error``/``console.assert`` calls (``console.error: bad (file:///r.html:3)``) and
    errors the browser logs itself, such as a missing image
    (``network: Failed to load resource: net::ERR_FILE_NOT_FOUND (file:///shot.png)``).

    Chromium's ``--enable-logging=stderr`` logs every console message of a web page as
    ``INFO:CONSOLE``, whatever its level, so the messages are read through the DevTools protocol
    instead, over a pipe (``--remote-debugging-pipe``): no port is opened.
    """
    source = Path(html).resolve()
    doing = f"check the console of {source}"
    require_file(source, doing)
    deadline = time.monotonic() + timeout
    with _DevTools.launch(chromium(doing), doing, timeout) as browser:
        return _collect_console_errors(browser, source.as_uri(), deadline)


class _DevTools:
    """A headless Chromium driven over ``--remote-debugging-pipe``.

    Chromium reads commands from its fd 3 and writes replies and events to its fd 4, each a
    JSON object ended by a NUL byte.
    """

    def __init__(self, process: subprocess.Popen[bytes], commands: int, replies: int,
                 doing: str, timeout: float, log: Path) -> None:
        self._process = process
        self._commands = commands
        self._replies = replies
        self.doing = doing  # for messages: "check the console of /x/report.html"
        self.timeout = timeout  # for messages: the caller's timeout
        self._log = log
        self._buffer = b""
        self._next_id = 0

    @classmethod
    @contextlib.contextmanager
    def launch(cls, executable: str, doing: str, timeout: float) -> Iterator[_DevTools]:
        """Start Chromium with the pipe; close it (or kill its process group) on leaving."""
        with tempfile.TemporaryDirectory(prefix="ccharness-chromium-",
                                         ignore_cleanup_errors=True) as scratch:
            log = Path(scratch) / "stderr.txt"
            command_read, command_write = os.pipe()
            reply_read, reply_write = os.pipe()
            # Chromium insists on fds 3 and 4. Popen cannot place fds at chosen numbers (its
            # pass_fds keeps numbers as they are), so bash moves them; copies numbered from 10
            # up cannot collide with 3 or 4 on the way.
            theirs = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
                      for fd in (command_read, reply_write)]
            for fd in (command_read, reply_write):
                os.close(fd)
            move = f'exec "$0" "$@" 3<&{theirs[0]} 4>&{theirs[1]} {theirs[0]}<&- {theirs[1]}>&-'
            try:
                with log.open("wb") as output:
                    process = subprocess.Popen(
                        ["bash", "-c", move, executable, *flags(Path(scratch) / "profile"),
                         "--remote-debugging-pipe", "about:blank"],
                        pass_fds=theirs, stdin=subprocess.DEVNULL, stdout=output, stderr=output,
                        start_new_session=True)
            except BaseException:
                for fd in (command_write, reply_read):
                    os.close(fd)
                raise
            finally:
                for fd in theirs:
                    os.close(fd)
            browser = cls(process, command_write, reply_read, doing, timeout, log)
            try:
                yield browser
            finally:
                browser._close()

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> int:
        """Send one command; return its id, which its reply will carry."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        try:
            while data:
                data = data[os.write(self._commands, data):]
        except BrokenPipeError as exc:
            raise self._died() from exc
        return self._next_id

    def receive(self, until: float) -> dict[str, Any] | None:
        """The next message from Chromium, or None if none came before ``until``."""
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._replies], [], [],
                                        max(0.0, until - time.monotonic()))
            if not ready:
                return None
            chunk = os.read(self._replies, 1 << 16)
            if not chunk:
                raise self._died()
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        parsed: dict[str, Any] = json.loads(message)
        if "error" in parsed:
            raise HarnessError(f"cannot {self.doing}: chromium refused a DevTools command: "
                               f"{parsed['error'].get('message', parsed['error'])}")
        return parsed

    def call(self, method: str, params: dict[str, Any] | None, deadline: float,
             session: str | None = None) -> dict[str, Any]:
        """Send one command and return its result, skipping events that come before it."""
        sent = self.send(method, params, session)
        while True:
            message = self.receive(deadline)
            if message is None:
                raise HarnessError(f"cannot {self.doing}: chromium did not answer {method} "
                                   f"within the {self.timeout:g} s timeout")
            if message.get("id") == sent:
                result: dict[str, Any] = message.get("result", {})
                return result

    def _died(self) -> HarnessError:
        stderr = self._log.read_text(encoding="utf-8", errors="replace")
        return HarnessError(f"cannot {self.doing}: chromium closed its DevTools pipe "
                            f"(it exited?); its stderr ends:\n{stderr_tail(stderr)}")

    def _close(self) -> None:
        with contextlib.suppress(HarnessError, OSError):
            self.send("Browser.close")
        for fd in (self._commands, self._replies):
            os.close(fd)
        end_process_group(self._process, time.monotonic() + CLOSE_S)


def _collect_console_errors(browser: _DevTools, url: str, deadline: float) -> list[str]:
    """Open ``url`` in a new page and gather its errors until the page has loaded and settled."""
    target = browser.call("Target.createTarget", {"url": "about:blank"}, deadline)
    session = browser.call("Target.attachToTarget",
                           {"targetId": target["targetId"], "flatten": True}, deadline)["sessionId"]
    # Enabled before navigating, so not even the first script's error is missed.
    for domain in ("Runtime", "Log", "Page"):
        browser.call(f"{domain}.enable", None, deadline, session)
    navigation = browser.send("Page.navigate", {"url": url}, session)
    errors: list[str] = []
    settled_at: float | None = None
    while True:
        message = browser.receive(settled_at or deadline)
        if message is None:
            if settled_at is not None:
                return errors
            raise HarnessError(f"cannot {browser.doing}: the page did not finish loading "
                               f"within the {browser.timeout:g} s timeout")
        if message.get("id") == navigation and message.get("result", {}).get("errorText"):
            raise HarnessError(f"cannot {browser.doing}: {message['result']['errorText']}")
        if message.get("sessionId") != session:
            continue
        if message.get("method") == "Page.loadEventFired":
            settled_at = min(deadline, time.monotonic() + _SETTLE_S)
        error = _console_error(message)
        if error:
            errors.append(error)


def _console_error(message: dict[str, Any]) -> str | None:
    """The error a DevTools event reports, as one line, or None if it reports none."""
    method, params = message.get("method"), message.get("params", {})
    if method == "Runtime.exceptionThrown":
        details = params["exceptionDetails"]
        exception = details.get("exception", {})
        thrown = exception.get("description") or _remote_value(exception)
        text = f"{details.get('text', 'Uncaught')} {thrown.splitlines()[0] if thrown else ''}"
        return f"{text.strip()} ({details.get('url', '?')}:{details.get('lineNumber', -1) + 1})"
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        text = " ".join(_remote_value(arg) for arg in params.get("args", []))
        frames = params.get("stackTrace", {}).get("callFrames", [])
        where = f" ({frames[0]['url']}:{frames[0]['lineNumber'] + 1})" if frames else ""
        return f"console.{params['type']}: {text}{where}"
    if method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        entry = params["entry"]
        where = f" ({entry['url']})" if entry.get("url") else ""
        return f"{entry.get('source', 'browser')}: {entry.get('text', '')}{where}"
    return None


def _remote_value(value: dict[str, Any]) -> str:
    """How the console would show one argument: strings bare, others by their description."""
    if "value" in value:
        raw = value["value"]
        return raw if isinstance(raw, str) else json.dumps(raw)
    return str(value.get("description") or value.get("type", "?"))
