"""The evidence report as PDF, screenshot and console check, by headless Chromium.

A licence application wants the HTML evidence report as PDF too, and its upload form takes at
most 5 MB per PDF file, so a larger PDF is split into numbered parts that each fit.

Chromium only ever opens the local file (a ``file://`` URL) with a throwaway profile and flags
that keep it off the network. Every run has a deadline; on expiry its whole process group is
killed, because Chromium's helpers (renderer, GPU, zygote) would otherwise outlive it. Output is
written to a temporary file next to the target and renamed on success, so a failed run never
leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError

from harness.errors import HarnessError

UPLOAD_LIMIT_BYTES = 5_000_000  # the licence upload form's limit per PDF file

_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
_INSTALL = "apt-get install -y chromium fonts-noto-cjk"  # fonts: the report is in Chinese
_OFFLINE_FLAGS = (
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-domain-reliability",
    "--disable-extensions",
    "--metrics-recording-only",
    # Names resolve to nothing: a report that links a remote resource shows it as a load error
    # instead of fetching it.
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
# Chromium complains on stderr about what a headless container lacks; that is no failure, and
# it would bury the line that explains one.
_NOISE = re.compile(r":(?:ERROR|WARNING|INFO):(?:dbus|device/bluetooth|ui/base/idle|media/gpu"
                    r"|sandbox/policy)/|^/usr/bin/chromium: \d+: ")
_STDERR_TAIL_LINES = 12
_SETTLE_S = 0.5  # after the load event, how long late console errors (timers, promises) may come
_CLOSE_S = 5.0  # how long a browser asked to close may take before it is killed
_REAP_S = 10.0  # how long a killed process may take to be reaped


def find_chromium() -> str | None:
    """The Chromium (or Chrome) binary on PATH, or None."""
    for name in _CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html: Path, pdf: Path, timeout: float = 180.0) -> Path:
    """Print the local HTML file ``html`` to ``pdf``; return ``pdf``.

    The paper size is the page's CSS ``@page { size: A4 }``, else Chromium's default, Letter.
    """
    source = Path(html).resolve()
    doing = f"print {source} to PDF"
    _require_file(source, doing)
    target = Path(pdf)
    with _staged(target, doing) as staged:
        # Only here: Chromium 156's renderer dies on navigation with this flag and no printing.
        _run_chromium(["--no-pdf-header-footer", f"--print-to-pdf={staged}", source.as_uri()],
                      doing, timeout)
        _check_written(staged, b"%PDF-", doing)
    return target


def screenshot(html: Path, png: Path, width: int = 1280, height: int = 1600,
               timeout: float = 120.0) -> Path:
    """Save a ``width`` x ``height`` PNG of the top of the local HTML file ``html``; return ``png``."""
    source = Path(html).resolve()
    doing = f"screenshot {source}"
    _require_file(source, doing)
    target = Path(png)
    with _staged(target, doing) as staged:
        _run_chromium([f"--screenshot={staged}", f"--window-size={width},{height}",
                       "--hide-scrollbars", source.as_uri()], doing, timeout)
        _check_written(staged, b"\x89PNG\r\n\x1a\n", doing)
    return target


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
    _require_file(source, doing)
    deadline = time.monotonic() + timeout
    with _DevTools.launch(_chromium(doing), doing, timeout) as browser:
        return _collect_console_errors(browser, source.as_uri(), deadline)


def split_pdf(pdf: Path, limit_bytes: int = UPLOAD_LIMIT_BYTES) -> list[Path]:
    """``[pdf]`` if it is within ``limit_bytes``, else its parts ``<stem>.part01.pdf``, ... beside it.

    Each part holds as many consecutive pages as fit in ``limit_bytes``, measured on the written
    file; together they hold every page in order. The original stays where it is. A page that
    alone exceeds the limit cannot be split and raises HarnessError naming it; parts already
    written by that call are removed again.
    """
    source = Path(pdf)
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise HarnessError(f"cannot split {source}: {exc.strerror}") from exc
    if size <= limit_bytes:
        return [source]
    reader = _read_pdf(source)
    parts: list[Path] = []
    try:
        start = 0
        while start < len(reader.pages):
            end, data = _largest_fitting_range(reader, start, limit_bytes, source)
            part = source.with_name(f"{source.stem}.part{len(parts) + 1:02d}.pdf")
            _write_atomically(part, data)
            parts.append(part)
            start = end
    except BaseException:
        for part in parts:
            part.unlink(missing_ok=True)
        raise
    return parts


# --- splitting -------------------------------------------------------------------------------


def _read_pdf(pdf: Path) -> PdfReader:
    try:
        reader = PdfReader(pdf)
        if len(reader.pages) == 0:
            raise HarnessError(f"cannot split {pdf}: it has no pages")
        return reader
    except (PdfReadError, OSError, ValueError) as exc:
        raise HarnessError(f"cannot split {pdf}: not a readable PDF ({exc})") from exc


def _largest_fitting_range(reader: PdfReader, start: int, limit: int,
                           pdf: Path) -> tuple[int, bytes]:
    """The end of the longest page range from ``start`` whose PDF fits ``limit``, and that PDF.

    Sizes are measured, not estimated: shared fonts and images make a part smaller than the
    sum of its pages. The range doubles until it is over the limit, then shrinks by halves.
    """
    fitting = _pdf_of_pages(reader, start, start + 1)
    if len(fitting) > limit:
        raise HarnessError(
            f"cannot split {pdf} under {limit:,} bytes: page {start + 1} alone is "
            f"{len(fitting):,} bytes (hint: shrink or downscale the images on that page)")
    fits, over = start + 1, None
    while over is None and fits < len(reader.pages):
        end = min(len(reader.pages), start + 2 * (fits - start))
        data = _pdf_of_pages(reader, start, end)
        if len(data) <= limit:
            fits, fitting = end, data
        else:
            over = end
    while over is not None and over - fits > 1:
        middle = (fits + over) // 2
        data = _pdf_of_pages(reader, start, middle)
        if len(data) <= limit:
            fits, fitting = middle, data
        else:
            over = middle
    return fits, fitting


def _pdf_of_pages(reader: PdfReader, start: int, end: int) -> bytes:
    """The bytes of a PDF holding pages ``start`` to ``end - 1`` (0-based) of ``reader``."""
    writer = PdfWriter()
    for page in reader.pages[start:end]:
        writer.add_page(page)
    if reader.metadata:
        # Keep the title and author on every part; only plain text entries carry over cleanly.
        writer.add_metadata({key: str(value) for key, value in reader.metadata.items()
                             if isinstance(value, str)})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _write_atomically(path: Path, data: bytes) -> None:
    with _staged(path, f"write {path}") as staged:
        try:
            staged.write_bytes(data)
        except OSError as exc:
            raise HarnessError(f"cannot write {path}: {exc.strerror}") from exc


# --- files -----------------------------------------------------------------------------------


def _require_file(html: Path, doing: str) -> None:
    # Checked here: for a missing file Chromium would happily print its error page.
    if not html.is_file():
        raise HarnessError(f"cannot {doing}: no such HTML file")


@contextlib.contextmanager
def _staged(target: Path, doing: str) -> Iterator[Path]:
    """A temporary path beside ``target``, renamed to it if the block succeeds, else removed.

    It keeps the target's suffix: Chromium picks the screenshot format from it. It is not
    created in advance (as by mkstemp, whose mode 0600 the target would keep): the writer
    creates it with the usual permissions.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HarnessError(f"cannot {doing}: cannot create {target.parent}: "
                           f"{exc.strerror}") from exc
    staged = target.with_name(f".{target.stem}.{secrets.token_hex(6)}.tmp{target.suffix}")
    try:
        yield staged
        staged.replace(target)
    finally:
        staged.unlink(missing_ok=True)


def _check_written(path: Path, magic: bytes, doing: str) -> None:
    try:
        with path.open("rb") as written:
            head = written.read(len(magic))
    except FileNotFoundError:
        head = b""
    if head != magic:
        raise HarnessError(f"cannot {doing}: chromium exited without error but wrote "
                           f"{'nothing' if not head else 'no valid file'}")


# --- running chromium ------------------------------------------------------------------------


def _chromium(doing: str) -> str:
    found = find_chromium()
    if found is None:
        raise HarnessError(f"cannot {doing}: no Chromium found on PATH (looked for "
                           f"{', '.join(_CHROMIUM_NAMES)}); install it with `{_INSTALL}`")
    return found


def _flags(profile: Path) -> list[str]:
    """Headless, offline, a throwaway profile; no sandbox only as root, where Chromium refuses it."""
    flags = ["--headless", "--disable-gpu", f"--user-data-dir={profile}", *_OFFLINE_FLAGS]
    if os.geteuid() == 0:
        flags.append("--no-sandbox")
    return flags


def _run_chromium(args: list[str], doing: str, timeout: float) -> None:
    """Run Chromium with ``args`` to completion within ``timeout`` seconds, or raise."""
    executable = _chromium(doing)
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory(prefix="ccharness-chromium-",
                                     ignore_cleanup_errors=True) as scratch:
        log = Path(scratch) / "stderr.txt"
        with log.open("wb") as output:
            # A file, not a pipe: a helper that outlives the browser cannot hold the read open.
            process = subprocess.Popen(
                [executable, *_flags(Path(scratch) / "profile"), *args],
                stdin=subprocess.DEVNULL, stdout=output, stderr=output, start_new_session=True)
        finished = _end_process_group(process, deadline)
        stderr = log.read_text(encoding="utf-8", errors="replace")
    if not finished:
        raise HarnessError(f"cannot {doing}: chromium did not finish within {timeout:g} s "
                           f"and was killed")
    if process.returncode != 0:
        raise HarnessError(f"cannot {doing}: chromium exited with status {process.returncode}; "
                           f"its stderr ends:\n{_stderr_tail(stderr)}")


def _stderr_tail(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    telling = [line for line in lines if not _NOISE.search(line)] or lines
    return "\n".join(telling[-_STDERR_TAIL_LINES:]) or "(nothing)"


def _end_process_group(process: subprocess.Popen[bytes], deadline: float) -> bool:
    """Wait for ``process`` until ``deadline``, then kill its process group; True if it had exited.

    The group is killed after a clean exit too, so no helper outlives the run. The leader is
    reaped only afterwards: until then its pid, which is the group's id, cannot be reused.
    """
    exited = _exited_by(process.pid, deadline)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        process.wait(timeout=_REAP_S)
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"chromium (pid {process.pid}) did not die within {_REAP_S:g} s "
                           f"of SIGKILL") from exc
    return exited


def _exited_by(pid: int, deadline: float) -> bool:
    """Whether the child ``pid`` exits before ``deadline``, without reaping it."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:  # pidfd needs Linux 5.3: poll instead
        while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True
    try:
        ready, _, _ = select.select([pidfd], [], [], max(0.0, deadline - time.monotonic()))
    finally:
        os.close(pidfd)
    return bool(ready)


# --- DevTools protocol -----------------------------------------------------------------------


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
                        ["bash", "-c", move, executable, *_flags(Path(scratch) / "profile"),
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
                            f"(it exited?); its stderr ends:\n{_stderr_tail(stderr)}")

    def _close(self) -> None:
        with contextlib.suppress(HarnessError, OSError):
            self.send("Browser.close")
        for fd in (self._commands, self._replies):
            os.close(fd)
        _end_process_group(self._process, time.monotonic() + _CLOSE_S)


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
