"""A real Asterisk for the integration tier: its config written, its spool seeded, started, stopped.

:class:`Asterisk` writes a complete configuration from the templates in ``etc/``
(``@@NAME@@`` filled in; every other ``${...}`` is Asterisk's own) into a fresh
folder: ``autoload = no`` with an explicit module list, SIP, HTTP/ARI and RTP on
127.0.0.1 only, on ports free when picked, endpoints with generated passwords,
the reference platform's IVR and queues as a dialplan playing the reference
prompts, and MixMonitor recording into the spool's ``recording/`` folder named
from the caller's Call-ID.  It seeds that folder with hundreds of older
recordings, starts ``asterisk -f`` and waits (with a deadline) for ARI and for
the boot to finish, and stops it with ``core stop now`` and then TERM and KILL:
no process outlives the fixture.  Passwords live in the config files (mode
0600) and in :attr:`Asterisk.env`, never in a log line.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import shutil
import signal
import string
import subprocess
import tempfile
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import requests

from tests.ports import free_tcp_port, free_udp_port

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[2]
PROMPTS = PROJECT / "fixtures" / "reference" / "prompts"
HOST = "127.0.0.1"
CALLERS = ("1001", "1002", "1003", "1004")
AGENTS = ("2001", "2002", "2003", "2004")
ARI_USER = "harness"
START_TIMEOUT = 60.0  # ARI answering, from the exec
BOOT_TIMEOUT = 30.0  # `core waitfullybooted`, after ARI answers
RX_TIMEOUT = 10.0  # one `asterisk -rx` command
STOP_TIMEOUT = 20.0  # `core stop now` until the process is gone; then TERM, then KILL
_PLACEHOLDER = re.compile(r"@@[A-Z_]+@@")
_NAME_CHARS = string.ascii_letters + string.digits

# How the dialplan names a call's recording (the [record] context's MixMonitor line), by
# the recording_name template that reads it back; None records nothing (the broken PBX).
RECORD_LINES = {
    "rec-{call_id|alnum}": " same => n,MixMonitor(${ASTSPOOLDIR}/recording/"
                           "rec-${FILTER(0-9A-Za-z,${CC_CALLER_CALLID})}.wav,b)",
    "rec-{call_id}": " same => n,MixMonitor(${ASTSPOOLDIR}/recording/"
                     "rec-${FILTER(-0-9A-Za-z._@,${CC_CALLER_CALLID})}.wav,b)",
    # names that say when, not which call: the harness finds the call's by its audio markers
    "{uniqueid}": " same => n,MixMonitor(${ASTSPOOLDIR}/recording/${UNIQUEID}.wav,b)",
}


class AsteriskError(RuntimeError):
    """Asterisk did not start or stop as asked; the message holds the console's last lines."""


@dataclass
class Ports:
    sip: int
    http: int
    rtp_start: int


@dataclass
class Asterisk:
    """One Asterisk under ``prefix`` with its own config and spool in ``root``."""

    prefix: Path
    root: Path
    recording_name: str | None = "rec-{call_id|alnum}"  # None: the dialplan records nothing
    ports: Ports = field(default_factory=lambda: Ports(free_udp_port(), free_tcp_port(), _rtp_start()))
    passwords: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        for user in (*CALLERS, *AGENTS, "ari"):
            self.passwords.setdefault(user, secrets.token_urlsafe(12))

    # -- what the harness is given ------------------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        """The environment a profile's ``${ENV:...}`` read: one password per account, ARI's."""
        found = {f"CC_AST_PW_{u}": p for u, p in self.passwords.items() if u != "ari"}
        return {**found, "CC_AST_ARI_PASSWORD": self.passwords["ari"]}

    @property
    def ari(self) -> str:
        return f"http://{HOST}:{self.ports.http}"

    @property
    def spool(self) -> Path:
        """The folder MixMonitor writes to and ARI's stored recordings list."""
        return self.root / "spool" / "recording"

    def write_profile(self, dest: Path, recording_name: str | None = "") -> Path:
        """The target profile for this PBX (``target.yaml`` filled in) at ``dest``: its
        ``recording_name`` the dialplan's (``""``), the one given, or none (None)."""
        lines = (HERE / "target.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
        if recording_name is None:
            lines = [line for line in lines if "@@RECORDING_NAME@@" not in line]
        naming = recording_name or self.recording_name or "rec-{call_id|alnum}"
        dest.write_text(self._fill("".join(lines), RECORDING_NAME=naming), encoding="utf-8")
        return dest

    # -- config -------------------------------------------------------------------------
    def write_config(self) -> None:
        """Every config file, the prompts and the hold music, into ``root``."""
        for sub in ("etc", "lib", "db", "keys", "run", "log", "sounds", "moh", "spool/recording"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for wav in PROMPTS.glob("*.wav"):
            shutil.copy2(wav, self.root / "sounds" / wav.name)
        shutil.copy2(PROMPTS / "hold_music.wav", self.root / "moh" / "hold_music.wav")
        record = RECORD_LINES[self.recording_name] if self.recording_name else \
            " same => n,NoOp(this PBX records nothing)"
        for template in sorted((HERE / "etc").glob("*.conf")):
            text = self._fill(template.read_text(encoding="utf-8"), RECORD=record,
                              ENDPOINTS=self._endpoints())
            dest = self.root / "etc" / template.name
            dest.write_text(text, encoding="utf-8")
            dest.chmod(0o600)
        for empty in ("cdr", "cel", "features", "acl", "udptl", "pjproject", "ccss",
                      "stasis", "res_stun_monitor", "manager", "websocket_client"):
            (self.root / "etc" / f"{empty}.conf").touch()

    def _endpoints(self) -> str:
        sections = []
        for user in (*CALLERS, *AGENTS):
            context = "from-callers" if user in CALLERS else "agents"
            sections.append(
                f"[{user}](phone)\ncontext = {context}\nauth = {user}\naors = {user}\n"
                f"callerid = <{user}>\n\n[{user}](phone-aor)\n\n"
                f"[{user}](phone-auth)\nusername = {user}\npassword = {self.passwords[user]}\n")
        return "\n".join(sections)

    def _fill(self, text: str, **extra: str) -> str:
        values = {"ROOT": str(self.root), "PREFIX": str(self.prefix), "SOUNDS": str(self.root / "sounds"),
                  "SIP_PORT": str(self.ports.sip), "HTTP_PORT": str(self.ports.http),
                  "RTP_START": str(self.ports.rtp_start), "RTP_END": str(self.ports.rtp_start + 199),
                  "ARI_USER": ARI_USER, "ARI_PASSWORD": self.passwords["ari"], "PROJECT": str(PROJECT),
                  **extra}
        for key, value in values.items():
            text = text.replace(f"@@{key}@@", value)
        left = _PLACEHOLDER.search(text)
        if left:
            raise AsteriskError(f"template placeholder {left.group()} was left unfilled")
        return text

    # -- the spool ----------------------------------------------------------------------
    def seed_spool(self, count: int = 500, seed: int = 13) -> list[Path]:
        """``count`` older recordings in the spool: 0.5 s of quiet noise each, named as the
        dialplan names them (``rec-`` and a filtered Call-ID, or a ``${UNIQUEID}``), 1 to 180
        days old by mtime."""
        rng = random.Random(seed)
        noise = np.random.default_rng(seed)
        now = time.time()
        made = []
        for i in range(count):
            then = now - rng.uniform(1, 180) * 86400
            call_id = "".join(rng.choice(_NAME_CHARS) for _ in range(32))
            name = f"{then:.0f}.{i}" if self.recording_name == "{uniqueid}" else f"rec-{call_id}"
            path = self.spool / f"{name}.wav"
            _write_wav(path, (noise.normal(0, 300, 4000)).astype(np.int16))
            os.utime(path, (then, then))
            made.append(path)
        return made

    # -- the process --------------------------------------------------------------------
    @property
    def binary(self) -> Path:
        return self.prefix / "sbin" / "asterisk"

    @property
    def conf(self) -> Path:
        return self.root / "etc" / "asterisk.conf"

    def start(self) -> None:
        """``asterisk -f`` in its own session; returns once ARI answers and the boot is over."""
        console = (self.root / "console.log").open("wb")
        self.process = subprocess.Popen(
            [str(self.binary), "-C", str(self.conf), "-f", "-n", "-q"], stdin=subprocess.DEVNULL,
            stdout=console, stderr=subprocess.STDOUT, start_new_session=True)
        console.close()
        try:
            self._await_ari()
            self.rx("core waitfullybooted", timeout=BOOT_TIMEOUT)
        except BaseException:
            self.stop()
            raise

    def _await_ari(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        auth = (ARI_USER, self.passwords["ari"])
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise AsteriskError(f"asterisk exited before ARI answered: {self.console_tail()}")
            try:
                if requests.get(f"{self.ari}/ari/asterisk/info", auth=auth, timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.25)
        raise AsteriskError(f"ARI at {self.ari} did not answer within {START_TIMEOUT:.0f}s: "
                            f"{self.console_tail()}")

    def rx(self, command: str, timeout: float = RX_TIMEOUT) -> str:
        """One CLI command through the control socket (``asterisk -rx``), within ``timeout``."""
        done = subprocess.run([str(self.binary), "-C", str(self.conf), "-rx", command],
                              capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise AsteriskError(f"asterisk -rx {command!r} exited {done.returncode}: "
                                f"{(done.stdout + done.stderr).strip()[-300:]}")
        return done.stdout

    def stop(self) -> None:
        """``core stop now``; TERM and KILL the process group when it does not go."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            try:
                self.rx("core stop now")
            except (AsteriskError, subprocess.TimeoutExpired):
                pass
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    break
            try:
                process.wait(timeout=STOP_TIMEOUT if sig is None else 5.0)
                break
            except subprocess.TimeoutExpired:
                continue

    def console_tail(self, lines: int = 15) -> str:
        log = self.root / "log" / "messages.log"
        text = log.read_text(errors="replace") if log.is_file() else ""
        text += (self.root / "console.log").read_text(errors="replace") \
            if (self.root / "console.log").is_file() else ""
        return " | ".join(text.strip().splitlines()[-lines:]) or "(no output)"

    def warnings(self) -> list[str]:
        """The WARNING and ERROR lines of Asterisk's log so far."""
        log = self.root / "log" / "messages.log"
        text = log.read_text(errors="replace") if log.is_file() else ""
        return [line for line in text.splitlines() if "WARNING[" in line or "ERROR[" in line]


def make_root() -> Path:
    """A short folder for one Asterisk: its control socket's path must fit in 108 bytes."""
    return Path(tempfile.mkdtemp(prefix="ccast-"))


def _write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(samples.tobytes())


def _rtp_start() -> int:
    """200 RTP ports below the phones' band (20000 up) and the reference platform's (23000 up);
    Asterisk skips a port someone else holds."""
    return 10000 + random.randrange(0, 49) * 200
