"""Headless Chromium, run with a deadline and kept off the network.

Chromium only ever opens a local file (a ``file://`` URL) with a throwaway profile and flags
that keep it off the network. Every run has a deadline; on expiry its whole process group is
killed, because Chromium's helpers (renderer, GPU, zygote) would otherwise outlive it. Output is
written to a temporary file next to the target and renamed on success, so a failed run never
leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
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

from harness.errors import HarnessError

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
CLOSE_S = 5.0  # how long a browser asked to close may take before it is killed
_REAP_S = 10.0  # how long a killed process may take to be reaped


def find_chromium() -> str | None:
    """The Chromium (or Chrome) binary on PATH, or None."""
    for name in _CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_file(html: Path, doing: str) -> None:
    # Checked here: for a missing file Chromium would happily print its error page.
    if not html.is_file():
        raise HarnessError(f"cannot {doing}: no such HTML file")


@contextlib.contextmanager
def staging(target: Path, doing: str) -> Iterator[Path]:
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


def check_written(path: Path, magic: bytes, doing: str) -> None:
    try:
        with path.open("rb") as written:
            head = written.read(len(magic))
    except FileNotFoundError:
        head = b""
    if head != magic:
        raise HarnessError(f"cannot {doing}: chromium exited without error but wrote "
                           f"{'nothing' if not head else 'no valid file'}")


def chromium(doing: str) -> str:
    found = find_chromium()
    if found is None:
        raise HarnessError(f"cannot {doing}: no Chromium found on PATH (looked for "
                           f"{', '.join(_CHROMIUM_NAMES)}); install it with `{_INSTALL}`")
    return found


def flags(profile: Path) -> list[str]:
    """Headless, offline, a throwaway profile; no sandbox only as root, where Chromium refuses it."""
    flags = ["--headless", "--disable-gpu", f"--user-data-dir={profile}", *_OFFLINE_FLAGS]
    if os.geteuid() == 0:
        flags.append("--no-sandbox")
    return flags


def run_chromium(args: list[str], doing: str, timeout: float) -> None:
    """Run Chromium with ``args`` to completion within ``timeout`` seconds, or raise."""
    executable = chromium(doing)
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory(prefix="ccharness-chromium-",
                                     ignore_cleanup_errors=True) as scratch:
        log = Path(scratch) / "stderr.txt"
        with log.open("wb") as output:
            # A file, not a pipe: a helper that outlives the browser cannot hold the read open.
            process = subprocess.Popen(
                [executable, *flags(Path(scratch) / "profile"), *args],
                stdin=subprocess.DEVNULL, stdout=output, stderr=output, start_new_session=True)
        finished = end_process_group(process, deadline)
        stderr = log.read_text(encoding="utf-8", errors="replace")
    if not finished:
        raise HarnessError(f"cannot {doing}: chromium did not finish within {timeout:g} s "
                           f"and was killed")
    if process.returncode != 0:
        raise HarnessError(f"cannot {doing}: chromium exited with status {process.returncode}; "
                           f"its stderr ends:\n{stderr_tail(stderr)}")


def stderr_tail(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    telling = [line for line in lines if not _NOISE.search(line)] or lines
    return "\n".join(telling[-_STDERR_TAIL_LINES:]) or "(nothing)"


def end_process_group(process: subprocess.Popen[bytes], deadline: float) -> bool:
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


