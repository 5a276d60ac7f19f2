"""Targets the harness starts by itself (``managed:`` in the target profile).

``peer``: a loopback peer phone listening at the profile's address; it answers
every call, plays the profile's prompt, and answers each DTMF digit with the
prompt mapped to it -- enough to show the harness end to end before a real
platform exists.  It is a phone like any other, run in its own process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.errors import TargetError
from harness.project import PROJECT_ROOT
from harness.sip.config import AccountSetup, Behaviour, PhoneSetup, TlsSetup
from harness.sip.controller import Switchboard
from harness.targets.model import PromptLibrary, Target

REFERENCE_STATE = PROJECT_ROOT / "var" / "reference"
REFERENCE_TIMEOUT = 60.0


def _prompt_file(library: PromptLibrary | None, prompt: str | None) -> str | None:
    if prompt is None:
        return None
    if library is None or prompt not in library.prompts:
        raise TargetError(f"the peer's prompt {prompt!r} is not in the target's prompt library")
    return str(library.prompts[prompt].file)


def _path(path: Path | None) -> str | None:
    return str(path) if path else None


def peer_setup(target: Target, library: PromptLibrary | None, work_dir: Path) -> PhoneSetup:
    peer = target.peer
    if peer is None:
        raise TargetError(f"{target.path}: managed: peer needs a peer: section")
    on_dtmf = {d: _prompt_file(library, p) or "" for d, p in peer.on_dtmf.items()}
    return PhoneSetup(
        name="peer",
        capture_dir=str(work_dir),
        sip_host=target.host,
        sip_port=target.port,
        transport=target.transport,
        account=AccountSetup(id_uri=f"sip:peer@{target.domain}"),
        behaviour=Behaviour(mode="answer", answer_after=peer.answer_after,
                            play=_prompt_file(library, peer.prompt), on_dtmf=on_dtmf),
        tls=TlsSetup(cert_file=_path(peer.cert_file), key_file=_path(peer.key_file), verify=False),
        srtp=target.srtp,
        srtp_signaling=target.srtp_signaling,
        codecs=target.codecs,
    )


@dataclass(frozen=True)
class ReferenceSize:
    """What a load run needs of the reference: ``calls`` conversations at once, and these
    agent usernames (only they) in its queues."""

    calls: int
    agents: tuple[str, ...] = ()

    def args(self) -> list[str]:
        return ["--size-for", str(self.calls), "--agents", ",".join(self.agents)]


@contextmanager
def managed_platform(target: Target, library: PromptLibrary | None, work_dir: Path,
                     faults: tuple[str, ...] = (), size: ReferenceSize | None = None) -> Iterator[None]:
    """Run what the profile says the harness manages for as long as the block lasts; a reference
    the harness starts is sized by ``size`` (a load run's)."""
    if faults and target.managed != "reference":
        raise TargetError(f"faults {list(faults)} need the reference platform; {target.path} is not it")
    if target.managed == "none":
        yield
        return
    if target.managed == "reference":
        with reference_platform(REFERENCE_STATE, faults, size):
            yield
        return
    board = Switchboard(work_dir / "peer")
    stop = threading.Event()
    # The peer's events must be read or its channel fills and it blocks; only this
    # thread touches the peer's switchboard until it is closed.
    pump = threading.Thread(target=_drain, args=(board, stop), name="peer-events", daemon=True)
    try:
        board.start([peer_setup(target, library, work_dir / "peer")])
        pump.start()
        yield
    finally:
        stop.set()
        if pump.is_alive():
            pump.join(2.0)
        board.close()


def _drain(board: Switchboard, stop: threading.Event) -> None:
    while not stop.is_set():
        board.pump(0.1)


def reference(command: str, state_dir: Path, *extra: str,
              timeout: float = REFERENCE_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run ``python -m fixtures.reference COMMAND``: the platform is driven as a program, never imported."""
    return subprocess.run(
        [sys.executable, "-m", "fixtures.reference", command, "--state-dir", str(state_dir), *extra],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        check=False,  # the caller reads the exit status and the output
    )


def load_secrets(path: Path) -> None:
    """Put the reference platform's generated passwords into this process's environment.

    Variables already set win, so a user can pin them. Values are never printed.
    """
    if not path.exists():
        raise TargetError(f"the reference platform's secrets file {path} is missing (was it started?)")
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            os.environ.setdefault(key, value)


def _running_calls(status_line: str) -> int | None:
    """The conversations a running reference holds at once (``... (6 concurrent calls) ...``)."""
    found = re.search(r"\((\d+) concurrent calls\)", status_line)
    return int(found.group(1)) if found else None


def _running_faults(status_line: str) -> set[str]:
    """The faults named in ``status`` output (``..., faults: a, b`` or ``faults: none``)."""
    text = status_line.rsplit("faults:", 1)[-1].split(" -- ")[0].strip()
    return set() if text in ("", "none") else {f.strip() for f in text.split(",")}


@contextmanager
def reference_platform(state_dir: Path, faults: tuple[str, ...] = (),
                       size: ReferenceSize | None = None) -> Iterator[None]:
    """Use the running reference platform, or start it (sized by ``size``) and stop it afterwards."""
    started = False
    status = reference("status", state_dir)
    running = _running_faults(status.stdout) if status.returncode == 0 else None
    if running is not None and running != set(faults):
        want = ", ".join(sorted(faults)) or "none"
        raise TargetError(
            f"the reference platform is already running with faults: {', '.join(sorted(running)) or 'none'}, "
            f"but this run asks for: {want}; a run against it would not judge what was asked "
            "(hint: ccharness reference down, then run again)")
    holds = _running_calls(status.stdout) if status.returncode == 0 else None
    if size is not None and holds is not None and holds < size.calls:
        raise TargetError(
            f"the reference platform is already running and holds {holds} calls at once, but this "
            f"load runs {size.calls} callers; its refusals would be counted as failures "
            "(hint: ccharness reference down, then run again: the load starts one sized for it)")
    if status.returncode != 0:
        sized = size.args() if size is not None else []
        result = reference("up", state_dir, *[a for f in faults for a in ("--fault", f)], *sized)
        if result.returncode != 0:
            raise TargetError(f"the reference platform did not start:\n{result.stderr or result.stdout}")
        started = True
    try:
        load_secrets(state_dir / "secrets.env")
        yield
    finally:
        if started:
            reference("down", state_dir)
