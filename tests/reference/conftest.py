"""The reference platform running for real, and the phones that call it.

``platform`` is one conformant platform per test module; ``start_platform``
starts a fresh one per test (for faults). Each platform gets its own state
directory and its own block of ports, reserved by lock files so parallel
runs on one host never share a port, and is stopped by a fixture finaliser
(``down`` runs in the background; the session waits for every one).

A :class:`Desk` is one test's phones on one platform: callers (account 1001,
digest auth through Kamailio) and agent phones (2001..2004) registered
through Kamailio. What a test waits for is an :class:`Until` (a condition,
a deadline and what it names); a Desk resolves one at once with the single
``Switchboard.wait`` helper, and :func:`run_scripts` runs several call
scripts (generators that yield Untils) side by side, so long IVR journeys
and a faulty and a conformant platform can be observed in the same seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests

from harness.audio.prompt import PromptMatch, find_prompt, match_prompt
from harness.audio.tone import sine
from harness.audio.wav import read_wav, write_wav
from harness.errors import AudioError, PhoneError
from harness.sip.config import AccountSetup, Behaviour, PhoneSetup
from harness.sip.controller import Switchboard, WaitTimeout
from harness.sip.timeline import CallTimeline
from tests.ports import PortBlock, reserve_block

PROJECT = Path(__file__).resolve().parents[2]
PROMPTS = PROJECT / "fixtures" / "reference" / "prompts"
RATE = 8000
DOMAIN = "127.0.0.1"
CALLER = "1001"
AGENTS = ("2001", "2002", "2003", "2004")
UP_TIMEOUT = 70.0  # `up` has its own 40 s deadline; this one only guards against a hang
DOWN_TIMEOUT = 30.0
API_TIMEOUT = 5.0


# -- the platform -----------------------------------------------------------------------
def reserve_ports(workers: int) -> PortBlock:
    """A locked block of free ports (:func:`tests.ports.reserve_block`) for a platform with
    ``workers`` media workers, once platforms stopped in the background have freed theirs."""
    _reap_stopped()
    return reserve_block(workers)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "fixtures.reference", *args]


class RefPlatform:
    """One running reference platform, reached only over SIP and HTTP."""

    def __init__(
        self,
        state_dir: Path,
        faults: tuple[str, ...] = (),
        workers: int = 3,
        overrides: dict[str, Any] | None = None,
        up_args: tuple[str, ...] = (),
    ) -> None:
        self.state_dir = state_dir
        self.faults = faults
        self.up_args = up_args  # more options for ``up`` (``--size-for``, ``--agents``)
        self.ports = reserve_ports(workers)
        self.overrides = {**self.ports.overrides, **(overrides or {})}
        self.sip_port = self.ports.base
        self.api_url = f"http://127.0.0.1:{self.overrides['api.port']}"
        self.secrets: dict[str, str] = {}
        self.http = requests.Session()
        self.http.trust_env = False  # loopback: never through a proxy
        self._up: subprocess.Popen[str] | None = None
        self._down: subprocess.Popen[bytes] | None = None
        self._released = False

    # -- life cycle -----------------------------------------------------------------
    def start(self) -> RefPlatform:
        """Start the platform and return once SIP and HTTP answer."""
        return self.launch().ready()

    def launch(self) -> RefPlatform:
        """Run ``up`` in the background (``ready`` waits for it)."""
        args = ["up", "--state-dir", str(self.state_dir), "--overrides", json.dumps(self.overrides)]
        args += [a for f in self.faults for a in ("--fault", f)] + list(self.up_args)
        self._up = subprocess.Popen(_cli(*args), cwd=PROJECT, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        return self

    def ready(self) -> RefPlatform:
        """Wait for ``up``; raise with its output if the platform did not start."""
        assert self._up is not None, "launch() first"
        try:
            output, _ = self._up.communicate(timeout=UP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._up.kill()
            self.stop()
            raise RuntimeError(f"`up` did not return within {UP_TIMEOUT:.0f}s") from None
        if self._up.returncode != 0:
            self.stop()
            raise RuntimeError(f"the reference platform (faults {list(self.faults)}) did not "
                               f"start:\n{output}")
        self.secrets = _read_env(self.state_dir / "secrets.env")
        return self

    def begin_stop(self) -> None:
        """Start ``down`` without waiting for it (``finish_stop`` waits)."""
        if self._down is None and not self._released:
            self.http.close()
            self._down = subprocess.Popen(
                _cli("down", "--state-dir", str(self.state_dir)), cwd=PROJECT,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)

    @property
    def stopped(self) -> bool:
        return self._down is not None and self._down.poll() is not None

    def finish_stop(self) -> None:
        """Wait for ``down`` (killing the platform's process group if it hangs); free the ports."""
        if self._released:
            return
        self.begin_stop()
        assert self._down is not None
        try:
            self._down.wait(DOWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._down.kill()
            _kill_platform(self.state_dir)
        self._released = True
        self.ports.release()

    def stop(self) -> None:
        self.begin_stop()
        self.finish_stop()

    def settle(self) -> None:
        """Let a launched ``up`` finish (its platform is then stopped like any other)."""
        if self._up is not None and self._up.poll() is None:
            try:
                self._up.communicate(timeout=UP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._up.kill()

    # -- accounts and the API -------------------------------------------------------
    def password(self, user: str) -> str:
        return self.secrets[f"CC_REF_PW_{user}"]

    @property
    def api_auth(self) -> tuple[str, str]:
        return ("admin", self.secrets["CC_REF_API_PASSWORD"])

    def api(self, method: str, path: str, auth: Any = True, **kwargs: Any) -> requests.Response:
        """One request to the API; ``auth=True``: the admin's Basic credentials, None: none."""
        credentials = self.api_auth if auth is True else auth
        return self.http.request(method, self.api_url + path, auth=credentials,
                                 timeout=API_TIMEOUT, **kwargs)

    def _json(self, path: str, **params: str) -> Any:
        answer = self.api("GET", path, params=params)
        answer.raise_for_status()
        return answer.json()

    def agents(self) -> dict[str, dict[str, Any]]:
        """The ACD's view of every agent (``GET /reference/queues``)."""
        return dict(self._json("/reference/queues")["agents"])

    def queues(self) -> dict[str, dict[str, Any]]:
        return dict(self._json("/reference/queues")["queues"])

    def recordings(self, call_id: str) -> list[dict[str, Any]]:
        """Rows of ``GET /reference/recordings?call_id=...``."""
        return list(self._json("/reference/recordings", call_id=call_id))

    def log_tail(self) -> str:
        """The media workers' last lines, for a failure message."""
        parts = []
        for log in sorted((self.state_dir / "workers").glob("worker*.log")):
            lines = log.read_text(errors="replace").splitlines()[-25:]
            parts.append(f"--- {log.name}\n" + "\n".join(lines))
        return "\n".join(parts)


def _read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines()
             if "=" in line and not line.startswith("#"))
    return dict(pairs)


def _kill_platform(state_dir: Path) -> None:
    pid_file = state_dir / "platform.pid"
    try:
        os.killpg(int(pid_file.read_text()), signal.SIGKILL)
    except (OSError, ValueError):
        pass


_stopping: list[RefPlatform] = []


def _reap_stopped() -> None:
    """Free the ports of platforms whose background ``down`` has finished."""
    for ref in [r for r in _stopping if r.stopped]:
        _stopping.remove(ref)
        ref.finish_stop()


@pytest.fixture(scope="session", autouse=True)
def _platforms_stopped() -> Iterator[None]:
    """Every platform stopped in the background is waited for before the session ends."""
    yield
    while _stopping:
        _stopping.pop().finish_stop()


def _stop_later(ref: RefPlatform) -> None:
    ref.begin_stop()
    _stopping.append(ref)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RefPlatform]:
    """A conformant platform (no faults, the default 3 media workers) for the module."""
    ref = RefPlatform(tmp_path_factory.mktemp("platform"))
    try:
        yield ref.start()
    finally:
        _stop_later(ref)


@pytest.fixture
def start_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., RefPlatform]]:
    """``start_platform(*faults, workers=1, wait=True)``: a fresh platform, stopped after
    the test (``wait=False``: launched only; call its ``ready()``)."""
    started: list[RefPlatform] = []

    def start(*faults: str, workers: int = 1, wait: bool = True) -> RefPlatform:
        ref = RefPlatform(tmp_path_factory.mktemp("faulty"), tuple(faults), workers)
        started.append(ref)
        ref.launch()
        return ref.ready() if wait else ref

    yield start
    for ref in started:
        ref.settle()
        _stop_later(ref)


# -- audio --------------------------------------------------------------------------------
_prompts: dict[str, np.ndarray] = {}


def prompt(name: str, start: float = 0.0, seconds: float | None = None) -> np.ndarray:
    """A reference prompt's samples, or the stretch ``start .. start+seconds`` of it."""
    if name not in _prompts:
        _prompts[name] = read_wav(PROMPTS / f"{name}.wav")[0]
    samples = _prompts[name][int(start * RATE):]
    return samples if seconds is None else samples[: int(seconds * RATE)]


def prompt_seconds(name: str) -> float:
    return len(prompt(name)) / RATE


def tone_wav(directory: Path, freq: float, seconds: float) -> str:
    """A WAV of a ``freq`` Hz sine at -12 dBFS (written once per directory)."""
    path = directory / f"tone-{int(freq)}-{seconds:g}s.wav"
    if not path.exists():
        write_wav(path, sine(freq, seconds, -12.0))
    return str(path)


def capture(call: CallTimeline) -> np.ndarray:
    """What the phone of ``call`` has heard so far (empty until PJSIP wrote a header)."""
    if call.capture_path is None:
        return np.zeros(0, dtype=np.float32)
    try:
        return read_wav(call.capture_path)[0]
    except AudioError:
        return np.zeros(0, dtype=np.float32)


SLIP = 0.06
"""How far (s) a quarter-second piece of a prompt may slip: a busy host's jitter buffer
drops and repeats 10-20 ms frames, and the slips add up over a long prompt."""


def heard(call: CallTimeline, name: str, after: float = 0.0, start: float = 0.0,
          seconds: float | None = None) -> PromptMatch | None:
    """Where (capture seconds) the caller heard prompt ``name`` (or a stretch of it) after ``after``."""
    offset = int(max(0.0, after) * RATE)
    found = find_prompt(capture(call)[offset:], prompt(name, start, seconds), max_slip_s=SLIP,
                        slips=slips_after(call, after))
    if found is None:
        return None
    shift = offset / RATE
    return PromptMatch(found.score, found.start_s + shift, found.end_s + shift,
                       found.rigid_score, found.coverage)


def slips_after(call: CallTimeline, after: float) -> list[tuple[float, float]]:
    """The caller phone's jitter-buffer slips from capture second ``after`` on, as the
    harness's expect_prompt gives them to the matcher: a prompt the phone's own buffer
    warped under load is still the platform's prompt."""
    if call.capture_t0 is None:
        return []
    return call.slips_after(call.capture_t0 + max(0.0, after))


def best_match(call: CallTimeline, name: str, after: float = 0.0, start: float = 0.0,
               seconds: float | None = None) -> str:
    """What the caller's capture holds nearest prompt ``name``: for a failed wait's message."""
    heard_so_far = capture(call)
    offset = int(max(0.0, after) * RATE)
    level = float(np.sqrt(np.mean(np.square(heard_so_far, dtype=np.float64)))) if heard_so_far.size else 0.0
    if heard_so_far.size <= offset:
        return f"{heard_so_far.size / RATE:.2f}s captured"
    m = match_prompt(heard_so_far[offset:], prompt(name, start, seconds), RATE, SLIP,
                     slips=slips_after(call, after))
    return (f"{heard_so_far.size / RATE:.2f}s captured, RMS {level:.3f}; best match score "
            f"{m.score:.2f}, coverage {m.coverage:.2f} at {m.start_s + offset / RATE:.2f}s")


def sent_by_platform(call: CallTimeline, board: Switchboard, method: str = "BYE") -> bool:
    """True if the phone of ``call`` received ``method`` (the platform ended the call)."""
    return any(e.data["dir"] == "RX" and e.data["first_line"].startswith(method)
               for e in board.sip_trace(call))


# -- waiting --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Until:
    """Something to wait for: ``condition()`` returns a value (done) or None (not yet)."""

    condition: Callable[[], Any]
    timeout: float
    what: str
    timeline: CallTimeline | None = None
    detail: Callable[[], str] | None = None  # what was seen instead, said once the wait timed out

    def expected(self) -> str:
        return self.what if self.detail is None else f"{self.what} ({self.detail()})"


Script = Generator[Until, Any, Any]


def every(seconds: float, check: Callable[[], Any]) -> Callable[[], Any]:
    """``check`` at most once per ``seconds`` (None in between): for costly conditions
    such as an HTTP request or a correlation over a whole capture."""
    last = [float("-inf")]

    def throttled() -> Any:
        if time.monotonic() - last[0] < seconds:
            return None
        last[0] = time.monotonic()
        return check()

    return throttled


@dataclass
class Outcome:
    """How a script ended: its return value, or the exception it raised."""

    value: Any = None
    error: BaseException | None = None

    def get(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def run_scripts(scripts: dict[str, tuple[Desk, Script]]) -> dict[str, Outcome]:
    """Run call scripts side by side until each has returned or raised.

    A script yields an :class:`Until` and is resumed with its value, or has a
    ``WaitTimeout`` thrown in once its deadline passes. Every desk's phones are
    pumped in between, so no script's wait holds up another's.
    """
    outcomes: dict[str, Outcome] = {}
    waiting: dict[str, tuple[Until, float]] = {}
    boards = list({id(d.board): d.board for d, _ in scripts.values()}.values())

    def resume(name: str, value: Any = None, error: BaseException | None = None) -> None:
        script = scripts[name][1]
        try:
            until = script.throw(error) if error is not None else script.send(value)
        except StopIteration as stop:
            outcomes[name] = Outcome(value=stop.value)
        except Exception as exc:  # noqa: BLE001 -- kept, and re-raised by the test that asks
            outcomes[name] = Outcome(error=exc)
        else:
            waiting[name] = (until, time.monotonic() + until.timeout)

    for name in scripts:
        resume(name)
    while waiting:
        dead_on = {id(b): _dead_phone(b) for b in boards}
        for name, (until, deadline) in list(waiting.items()):
            dead = dead_on[id(scripts[name][0].board)]
            if dead is not None:
                del waiting[name]
                resume(name, error=dead)
                continue
            try:
                value = until.condition()
            except Exception as exc:  # noqa: BLE001
                del waiting[name]
                resume(name, error=exc)
                continue
            if value is not None:
                del waiting[name]
                resume(name, value)
            elif time.monotonic() >= deadline:
                del waiting[name]
                resume(name, error=WaitTimeout(until.expected(), until.timeout, until.timeline))
        for board in boards:
            board.pump(0.01)
    return {name: outcomes[name] for name in scripts}  # in the order given


def _dead_phone(board: Switchboard) -> PhoneError | None:
    """A phone of ``board`` that died, as the error ``Switchboard.wait`` would raise."""
    for phone in board.phones.values():
        if phone.dead is not None or phone.proc.poll() is not None:
            why = phone.dead or f"it exited with code {phone.proc.returncode}"
            return PhoneError(f"phone {phone.name} died: {why}; last output:\n{phone.last_output()}")
    return None


# -- phones ---------------------------------------------------------------------------------
class Desk:
    """One test's phones on one platform, and what to wait for on them."""

    def __init__(self, ref: RefPlatform, work: Path) -> None:
        self.ref = ref
        self.work = work
        self.board = Switchboard(work)
        self._calls = 0

    def _setup(self, name: str, user: str, register: bool, behaviour: Behaviour) -> PhoneSetup:
        registrar = f"sip:{DOMAIN}:{self.ref.sip_port};transport=udp" if register else None
        account = AccountSetup(id_uri=f"sip:{user}@{DOMAIN}", registrar=registrar,
                               auth_user=user, password=self.ref.password(user))
        return PhoneSetup(name=name, capture_dir=str(self.work), account=account,
                          behaviour=behaviour)

    def start(self, agents: dict[str, Behaviour] | None = None, callers: int = 1) -> Desk:
        """Start caller phones (``caller``, ``caller1``, ...) and one phone per agent,
        and wait until the ACD sees exactly those agents registered."""
        agents = agents or {}
        setups = [self._setup(f"caller{i or ''}", CALLER, False, Behaviour())
                  for i in range(callers)]
        setups += [self._setup(a, a, True, b) for a, b in agents.items()]
        self.board.start(setups)
        self.get(self.until_registered(set(agents)))
        return self

    def close(self) -> None:
        self.board.close()

    # -- resolving waits ---------------------------------------------------------------
    def get(self, until: Until) -> Any:
        """Wait for ``until`` now (pumping this desk's phones)."""
        return self.board.wait(until.condition, until.timeout, until.expected,
                               timeline=until.timeline)

    def run(self, script: Script) -> Any:
        """Drive one call script to its end on this desk alone; return what it returns."""
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                until = script.throw(error) if error is not None else script.send(value)
            except StopIteration as stop:
                return stop.value
            try:
                value, error = self.get(until), None
            except WaitTimeout as timeout:  # thrown in: the script may expect it
                value, error = None, timeout

    def pause(self, seconds: float) -> None:
        self.get(self.until_time(seconds))

    def until_time(self, seconds: float) -> Until:
        end = time.monotonic() + seconds
        return Until(lambda: time.monotonic() >= end or None, seconds + 1.0,
                     f"{seconds:.1f}s to pass")

    def until_registered(self, agents: set[str], timeout: float = 10.0) -> Until:
        """The platform's ACD has exactly ``agents`` (of 2001..2004) registered."""
        seen: set[str] = set()

        def settled() -> bool | None:
            seen.clear()
            seen.update(a for a, s in self.ref.agents().items() if s["registered"])
            return seen == agents or None

        return Until(every(0.1, settled), timeout,
                     f"the ACD to see {sorted(agents)} registered (it sees {sorted(seen)})")

    def register(self, agent: str, on: bool) -> None:
        self.board.command(agent, "register", on=on)

    # -- calls ---------------------------------------------------------------------------
    def dial(self, number: str, phone: str = "caller") -> CallTimeline:
        self._calls += 1
        uri = f"sip:{number}@{DOMAIN}:{self.ref.sip_port};transport=udp"
        return self.board.open_call(phone, f"c{self._calls}", uri, {})

    def until_answered(self, call: CallTimeline, timeout: float = 10.0) -> Until:
        return Until(lambda: (call.state == "CONFIRMED" and call.capture_path) or None,
                     timeout, "the platform to answer (and the caller's capture to start)", call)

    def until_settled(self, call: CallTimeline, timeout: float = 10.0) -> Until:
        """The platform answered ``call`` or refused it (its state then tells which)."""
        return Until(lambda: call.state in ("CONFIRMED", "DISCONNECTED") or None, timeout,
                     "the platform to answer or refuse", call)

    def until_ended(self, call: CallTimeline, timeout: float) -> Until:
        return Until(lambda: call.state == "DISCONNECTED" or None, timeout, "the call to end",
                     call)

    def connect(self, number: str, phone: str = "caller") -> CallTimeline:
        call = self.dial(number, phone)
        self.get(self.until_answered(call))
        return call

    def drop(self, call: CallTimeline) -> None:
        """Hang up ``call`` without waiting for the end (a script yields ``until_ended``)."""
        if call.state != "DISCONNECTED":
            self.board.command(call.phone, "hangup", handle=call.handle)

    def hang_up(self, call: CallTimeline, timeout: float = 5.0) -> None:
        self.drop(call)
        self.get(self.until_ended(call, timeout))

    def dtmf(self, call: CallTimeline, digits: str) -> float:
        """Send RFC 4733 ``digits``; return the caller's capture time when they left."""
        assert call.capture_t0 is not None
        sent = time.monotonic() - call.capture_t0
        self.board.command(call.phone, "dtmf", handle=call.handle, digits=digits,
                           method="rfc4733")
        return sent

    def play(self, call: CallTimeline, path: str) -> None:
        self.board.command(call.phone, "play", handle=call.handle, path=path, loop=False)

    def ended_by_platform(self, call: CallTimeline) -> bool:
        return call.state == "DISCONNECTED" and sent_by_platform(call, self.board)

    # -- agents ---------------------------------------------------------------------------
    def offers(self, agent: str, since: float = 0.0) -> list[CallTimeline]:
        """The calls offered to ``agent``'s phone (monotonic time >= ``since``), in order."""
        if agent not in self.board.phones:
            return []
        return sorted((t for t in self.board.calls_of(agent) if t.t0 >= since), key=lambda t: t.t0)

    def offered(self, since: float, agents: tuple[str, ...] = AGENTS) -> dict[str, CallTimeline]:
        """Each agent's first offer since ``since``."""
        return {a: o[0] for a in agents if (o := self.offers(a, since))}

    def until_offer(self, since: float, agents: tuple[str, ...] = AGENTS,
                    timeout: float = 10.0) -> Until:
        """The first agent offered a call after ``since``: ``(agent, its leg)``."""
        def first() -> tuple[str, CallTimeline] | None:
            got = self.offered(since, agents)
            return min(got.items(), key=lambda kv: kv[1].t0) if got else None
        return Until(first, timeout, f"an offer to one of {list(agents)}")

    def until_bridged(self, since: float, timeout: float = 10.0) -> Until:
        """The agent who answered a call offered after ``since``: ``(agent, its leg)``."""
        def answered() -> tuple[str, CallTimeline] | None:
            for agent in AGENTS:
                for leg in self.offers(agent, since):
                    if leg.last("call", state="CONFIRMED") and leg.capture_path:
                        return agent, leg
            return None
        return Until(answered, timeout, "an agent to answer")

    def queue_call(self, number: str, phone: str = "caller") -> tuple[CallTimeline, str, CallTimeline]:
        """Call a queue DID and wait until an agent answers: ``(caller leg, agent, agent leg)``."""
        since = time.monotonic()
        call = self.connect(number, phone)
        agent, leg = self.get(self.until_bridged(since))
        return call, agent, leg

    def finish(self, call: CallTimeline, *legs: CallTimeline) -> None:
        """Hang up the caller and wait until the agents' legs have ended too."""
        self.hang_up(call)
        for leg in legs:
            self.get(self.until_ended(leg, 5.0))

    # -- what the caller heard ---------------------------------------------------------------
    def until_prompt(self, call: CallTimeline, name: str, after: float = 0.0,
                     start: float = 0.0, seconds: float | None = None,
                     timeout: float | None = None) -> Until:
        """The caller heard prompt ``name`` (or its stretch) after capture time ``after``."""
        length = len(prompt(name, start, seconds)) / RATE
        found = every(0.4, lambda: heard(call, name, after, start, seconds))

        part = f" ({start:g}s..+{seconds:g}s)" if seconds else ""
        heard_so_far = time.monotonic() - call.capture_t0 if call.capture_t0 else 0.0
        default = max(0.0, after - heard_so_far) + length + 8.0
        return Until(found, timeout if timeout is not None else default,
                     f"prompt {name!r}{part} after {after:.1f}s of the caller's capture", call,
                     lambda: best_match(call, name, after, start, seconds))


@pytest.fixture
def desk_for(tmp_path: Path) -> Iterator[Callable[[RefPlatform], Desk]]:
    """``desk_for(platform)``: a Desk on that platform, closed after the test."""
    desks: list[Desk] = []

    def make(ref: RefPlatform) -> Desk:
        desk = Desk(ref, tmp_path / f"phones{len(desks)}")
        desks.append(desk)
        return desk

    yield make
    _close_all(desks)


def _close_all(desks: list[Desk]) -> None:
    """Close desks side by side: each waits for its phones to unregister and leave."""
    closers = [threading.Thread(target=d.close, name=f"close {d.work.name}") for d in desks]
    for closer in closers:
        closer.start()
    for closer in closers:
        closer.join(30.0)


@pytest.fixture
def desk(platform: RefPlatform, desk_for: Callable[[RefPlatform], Desk]) -> Desk:
    """A Desk on the module's conformant platform."""
    return desk_for(platform)


def describe_failure(ref: RefPlatform) -> str:
    """Context for an assertion message: what the workers logged last."""
    return f"\nworker logs:\n{ref.log_tail()}"



# -- bridged, recorded calls -------------------------------------------------------------------
CALLER_TONE, AGENT_TONE = 1000.0, 1600.0
TONE_SECONDS = 1.5
SALES = "4001"


def tone_agent(work: Path) -> Behaviour:
    """An agent that answers at once and plays the agent's tone (1600 Hz) on answer."""
    work.mkdir(parents=True, exist_ok=True)
    return Behaviour(play=tone_wav(work, AGENT_TONE, TONE_SECONDS))


@dataclass
class Bridged:
    """A queue call that was answered, talked over and hung up by the caller."""

    call: CallTimeline
    agent: str
    leg: CallTimeline
    bridged_s: float  # the agent's answer to the caller's hang-up


def bridged_call(desk: Desk, did: str = SALES, hold: float = 4.5, phone: str = "caller") -> Script:
    """Call a queue; the agent's tone plays on answer, the caller's 2 s later; hang up after ``hold``."""
    since = time.monotonic()
    call = desk.dial(did, phone)
    yield desk.until_answered(call)
    agent, leg = yield desk.until_bridged(since)
    yield desk.until_time(2.0)
    desk.play(call, tone_wav(desk.work, CALLER_TONE, TONE_SECONDS))
    yield desk.until_time(hold - 2.0)
    desk.drop(call)
    yield desk.until_ended(call, 5.0)
    yield desk.until_ended(leg, 5.0)
    answered = leg.last("call", state="CONFIRMED")
    ended = call.last("call", state="DISCONNECTED")
    assert answered is not None and ended is not None
    return Bridged(call, agent, leg, ended.t - answered.t)


@dataclass
class Stored:
    """What the API says and serves about one call's recording."""

    rows: list[dict[str, Any]]
    data: bytes | None  # the file, fetched with credentials
    anonymous_status: int | None  # the file fetched without credentials

    @property
    def row(self) -> dict[str, Any]:
        assert len(self.rows) == 1, f"expected one recording, found {len(self.rows)}"
        return self.rows[0]

    @property
    def samples(self) -> np.ndarray:
        assert self.data is not None
        path = Path(tempfile.mkstemp(suffix=".wav")[1])
        try:
            path.write_bytes(self.data)
            return read_wav(path)[0]
        finally:
            path.unlink()

    @property
    def seconds(self) -> float:
        return len(self.samples) / RATE

    def tone_seconds(self, freq: float) -> float:
        """How long ``freq`` is heard in the recording, in all."""
        from harness.audio.tone import detect_tone

        return sum(end - start for start, end, _ in detect_tone(self.samples, freq))

    @property
    def sha256(self) -> str:
        import hashlib

        assert self.data is not None
        return hashlib.sha256(self.data).hexdigest()


def stored_recording(ref: RefPlatform, call_id: str, timeout: float = 6.0) -> Script:
    """Find a call's recording by its SIP Call-ID (waiting up to ``timeout``) and fetch it."""
    try:
        rows = yield Until(every(0.2, lambda: ref.recordings(call_id) or None), timeout,
                           f"a recording of call {call_id}")
    except WaitTimeout:
        return Stored([], None, None)
    path = f"/ari/recordings/stored/{rows[0]['name']}/file"
    answer = ref.api("GET", path)
    anonymous = ref.api("GET", path, auth=None)
    return Stored(rows, answer.content if answer.status_code == 200 else None,
                  anonymous.status_code)


def recorded(desk: Desk, did: str = SALES) -> Script:
    """A bridged call and then its recording: ``(Bridged, Stored)``."""
    call = yield from bridged_call(desk, did)
    assert call.call.sip_call_id is not None
    stored = yield from stored_recording(desk.ref, call.call.sip_call_id)
    return call, stored


def purge_at(ref: RefPlatform, day: float) -> list[str]:
    """Move the platform's clock ``day`` days ahead and purge: the names purged."""
    answer = ref.api("PUT", "/reference/clock", json={"offset_days": day})
    answer.raise_for_status()
    answer = ref.api("POST", "/reference/purge")
    answer.raise_for_status()
    return list(answer.json()["purged"])


def reset_clock(ref: RefPlatform) -> None:
    ref.api("PUT", "/reference/clock", json={"offset_days": 0}).raise_for_status()


# -- the IVR ------------------------------------------------------------------------------------
MAIN = "4000"
OPENING = 2.0  # seconds of a menu that prove it started


def to_menu(desk: Desk, call: CallTimeline) -> Script:
    """Answer, then wait for the main menu's opening: ``(welcome or None, menu)``.

    Only the menu is waited for (it is when keys count); where the greeting
    was heard before it is looked up afterwards, for the tests that care.
    """
    yield desk.until_answered(call)
    menu = yield desk.until_prompt(call, "main_menu", seconds=OPENING,
                                   timeout=prompt_seconds("welcome") + OPENING + 10.0)
    return heard(call, "welcome"), menu
